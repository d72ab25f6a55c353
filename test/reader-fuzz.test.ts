// Fuzzes the reader with mutated real models: flipped bits, truncations, inserted and overwritten bytes,
// with a fixed seed. The reader must return a model or throw ModelFileError: never another exception
// type, never hang, never try to allocate what a corrupt length claims. Then the external-data and
// shape-rule mutants of test/fuzz/mutants.ts (`npm run fuzz` runs many more of them).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFileError } from '../src/onnx/errors.js';
import { readModelFromBytes } from '../src/onnx/read-model.js';
import { encodeMessage } from '../src/onnx/protobuf.js';
import * as S from '../src/onnx/onnx-schema.js';
import { inferShapes } from '../src/onnx/shape-inference.js';
import { modelProblems } from '../src/onnx/verify.js';
import { inspectModel } from '../src/onnx/inspect-model.js';
import { PADDLE } from '../src/onnx/test-models.js';
import { mulberry32 } from '../src/util/rng.js';
import { type MutantClass, classOf, corners, mutateBytes, runCase } from './fuzz/mutants.js';

test('mutated models: a model or a ModelFileError, nothing else; analyses of what parses do not throw', () => {
  const seeds: [string, Uint8Array][] = [
    ['cls', readFileSync(PADDLE.cls.path)],
    ['corners', corners()],
  ];
  const cases = Number(process.env.FUZZ_CASES ?? 600);
  const outcomes = { model: 0, modelFileError: 0 };
  for (let k = 0; k < cases; k++) {
    const [name, src] = seeds[k % seeds.length]!;
    const bytes = mutateBytes(src, mulberry32(1000 + k));
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

test('external-data and shape-rule mutants: a typed error or a model, fast; every refusal class occurs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-fuzz-'));
  try {
    const n = Number(process.env.FUZZ_MUTANTS ?? 300);
    const messages: Record<MutantClass, string[]> = { bytes: [], external: [], shape: [] };
    const accepted: Record<MutantClass, number> = { bytes: 0, external: 0, shape: 0 };
    for (let k = 0, done = 0; done < n; k++) {
      if (classOf(k) === 'bytes') continue; // the test above covers them
      done++;
      const t0 = performance.now();
      const r = runCase(k, dir, 50_000);
      const ms = performance.now() - t0;
      assert.ok(ms < 3000, `case ${k} (${r.cls}) took ${ms.toFixed(0)} ms`);
      assert.notEqual(r.outcome, 'untyped', `case ${k} (${r.cls}, seed ${50_000 + k}): ${r.detail}`);
      if (r.outcome === 'accepted') accepted[r.cls]++;
      else messages[r.cls].push(r.detail!);
    }
    // the mutants must reach each refusal, or they test less than they claim
    for (const want of [
      'is a folder',
      'is a FIFO',
      'past the end of the file',
      "escapes the model's folder",
      'does not exist',
      'over the',
      'dims and type need',
    ])
      assert.ok(
        messages.external.some((m) => m.includes(want)),
        `no external mutant was refused with '${want}'`,
      );
    assert.ok(messages.shape.some((m) => m.startsWith('ShapeRuleError: ') && /out of range for rank/.test(m)));
    assert.ok(accepted.shape > 5 && accepted.external > 0, JSON.stringify(accepted));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
