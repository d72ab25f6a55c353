// Fuzzes the reader with mutated real models: flipped bits, truncations, inserted and overwritten bytes,
// with a fixed seed. The reader must return a model or throw ModelFileError: never another exception
// type, never hang, never try to allocate what a corrupt length claims.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/onnx/dtype.js';
import { ModelFileError } from '../src/onnx/errors.js';
import { Graph, Node, attr } from '../src/onnx/graph.js';
import { readModelFromBytes } from '../src/onnx/read-model.js';
import { encodeMessage } from '../src/onnx/protobuf.js';
import * as S from '../src/onnx/onnx-schema.js';
import { serializeModel } from '../src/onnx/write-model.js';
import { inferShapes } from '../src/onnx/shape-inference.js';
import { modelProblems } from '../src/onnx/verify.js';
import { inspectModel } from '../src/onnx/inspect-model.js';
import { PADDLE } from '../src/onnx/test-models.js';
import { mulberry32 } from '../src/util/rng.js';

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  const int = (n: number) => Math.floor(r() * n);
  let b = Uint8Array.from(src);
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    switch (int(5)) {
      case 0: // flip bits
        for (let k = 0, n = 1 + int(8); k < n; k++) b[int(b.length)]! ^= 1 << int(8);
        break;
      case 1: // truncate
        b = b.subarray(0, int(b.length));
        break;
      case 2: {
        // insert random bytes
        const at = int(b.length + 1);
        const ins = Uint8Array.from({ length: 1 + int(16) }, () => int(256));
        const out = new Uint8Array(b.length + ins.length);
        out.set(b.subarray(0, at));
        out.set(ins, at);
        out.set(b.subarray(at), at + ins.length);
        b = out;
        break;
      }
      case 3: // overwrite with a large varint (a length or dim that claims gigabytes)
        if (b.length >= 5) b.set([0xff, 0xff, 0xff, 0xff, 0x0f], int(b.length - 4));
        break;
      default: // overwrite a run with one byte
        b.fill(int(256), int(b.length), int(b.length));
    }
  }
  return b;
}

/** A small model that exercises every corner of the schema: subgraph, typed data, strings, attributes. */
function corners(): Uint8Array {
  const b = new GraphBuilder('corners');
  const x = b.input('x', DataType.FLOAT, ['N', 4]);
  const c = b.input('c', DataType.BOOL, []);
  const then = new Graph('then');
  then.nodes.push(new Node('Constant', [], ['k'], 'k', '', { value_floats: attr.floats([1, 2, 3, 4]) }), new Node('Add', [x, 'k'], ['t']));
  then.outputs.push({ name: 't', type: { kind: 'tensor', elemType: DataType.FLOAT, shape: ['N', 4] } });
  const els = new Graph('else');
  els.nodes.push(new Node('Neg', [x], ['e']));
  els.outputs.push({ name: 'e' });
  b.graph.nodes.push(new Node('If', [c], ['y'], 'if', '', { then_branch: attr.graph(then), else_branch: attr.graph(els) }));
  b.int64s('shape', [2, 2]);
  b.output(b.op('Mul', ['y', b.floats('w', [4], [1, 2, 3, 4])], { note: 'text', list: ['a', 'b'] }));
  return serializeModel(b.model());
}

test('mutated models: a model or a ModelFileError, nothing else; analyses of what parses do not throw', () => {
  const seeds: [string, Uint8Array][] = [
    ['cls', readFileSync(PADDLE.cls.path)],
    ['corners', corners()],
  ];
  const cases = Number(process.env.FUZZ_CASES ?? 600);
  const outcomes = { model: 0, modelFileError: 0 };
  for (let k = 0; k < cases; k++) {
    const [name, src] = seeds[k % seeds.length]!;
    const bytes = mutate(src, mulberry32(1000 + k));
    const t0 = performance.now();
    try {
      const m = readModelFromBytes(bytes, { limits: { maxTensorBytes: 1 << 26 } }, `${name}#${k}`);
      outcomes.model++;
      // whatever parses must also survive the analyses that tools run on it
      inferShapes(m);
      modelProblems(m);
      inspectModel(m);
    } catch (e) {
      if (!(e instanceof ModelFileError)) assert.fail(`case ${k} (${name}, seed ${1000 + k}): ${(e as Error).constructor.name}: ${(e as Error).stack}`);
      assert.ok(e.message.startsWith(`${name}#${k}: `), e.message);
      outcomes.modelFileError++;
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 5000, `case ${k} took ${ms.toFixed(0)} ms`);
  }
  // both outcomes must occur, or the mutations are too weak (or too strong) to test anything
  assert.ok(outcomes.model > 10 && outcomes.modelFileError > 10, JSON.stringify(outcomes));
});

test('crafted corner cases: huge claimed sizes, empty attributes, unknown types', () => {
  const cases: Record<string, object> = {
    hugeTyped: { ir_version: 8, graph: { name: 'g', initializer: [{ name: 'w', data_type: 1, dims: [2e9], float_data: [1] }] } },
    hugeInt64: { ir_version: 8, graph: { name: 'g', initializer: [{ name: 'w', data_type: 7, dims: [1e5, 1e5], int64_data: [1] }] } },
    hugeRaw: { ir_version: 8, graph: { name: 'g', initializer: [{ name: 'w', data_type: 1, dims: [1e10, 1e10], raw_data: new Uint8Array(4) }] } },
    tensorAttrNoT: { ir_version: 8, graph: { name: 'g', node: [{ op_type: 'Constant', output: ['y'], attribute: [{ name: 'value', type: 4 }] }] } },
    badDtype: { ir_version: 8, graph: { name: 'g', initializer: [{ name: 'w', data_type: 99, dims: [2], raw_data: new Uint8Array(8) }] } },
    strings: { ir_version: 8, graph: { name: 'g', initializer: [{ name: 'w', data_type: 8, dims: [3], string_data: [new Uint8Array(1)] }] } },
    negativeDim: { ir_version: 8, graph: { name: 'g', initializer: [{ name: 'w', data_type: 1, dims: [-4], raw_data: new Uint8Array(0) }] } },
  };
  for (const [k, v] of Object.entries(cases))
    assert.throws(
      () => readModelFromBytes(encodeMessage(v as never, S.Model), {}, k),
      (e: unknown) => e instanceof ModelFileError && e.message.startsWith(`${k}: `),
      k,
    );
  // a GRAPH attribute without a graph reads as an empty graph
  const m = readModelFromBytes(
    encodeMessage(
      { ir_version: 8, graph: { name: 'g', node: [{ op_type: 'If', input: ['c'], output: ['y'], attribute: [{ name: 'then_branch', type: 5 }] }] } },
      S.Model,
    ),
  );
  assert.equal(m.graph.nodes[0]!.subgraphs()[0]!.nodes.length, 0);
});
