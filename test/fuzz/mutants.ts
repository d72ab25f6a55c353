// Seeded mutants of ONNX models and what a tool does with each: shared by test/reader-fuzz.test.ts (a few
// hundred, in npm test) and scripts/fuzz.mjs (many more, in child processes with a hang watchdog).
// Three classes: byte mutations of real models, external-data entries and files (folders, FIFOs, offsets
// past the end, huge sparse files, '..'-names), and shape-rule attributes (axes like 2147483648).
// A case's outcome is 'typed' (an EdgefitError), 'accepted', or 'untyped' (anything else: a bug).

import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { modelSize } from '../../src/bench/model-size.js';
import { GraphBuilder } from '../../src/onnx/builder.js';
import { DataType } from '../../src/onnx/dtype.js';
import { EdgefitError } from '../../src/onnx/errors.js';
import { Graph, Node, attr } from '../../src/onnx/graph.js';
import { inspectModel, inspectModelFile } from '../../src/onnx/inspect-model.js';
import * as S from '../../src/onnx/onnx-schema.js';
import { encodeMessage, type ProtoObject } from '../../src/onnx/protobuf.js';
import { readModelFromBytes } from '../../src/onnx/read-model.js';
import { inferShapes } from '../../src/onnx/shape-inference.js';
import { PADDLE } from '../../src/onnx/test-models.js';
import { modelProblems } from '../../src/onnx/verify.js';
import { serializeModel } from '../../src/onnx/write-model.js';
import { mulberry32 } from '../../src/util/rng.js';

export type Outcome = 'typed' | 'accepted' | 'untyped';
export const CLASSES = ['bytes', 'external', 'shape'] as const;
export type MutantClass = (typeof CLASSES)[number];

export interface CaseResult {
  outcome: Outcome;
  cls: MutantClass;
  /** The error's class and message (typed or not). */
  detail?: string;
}

type Rnd = () => number;
const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

// ------------------------------------------------------------------ bytes

export function mutateBytes(src: Uint8Array, r: Rnd): Uint8Array {
  const int = (n: number) => Math.floor(r() * n);
  let b = Uint8Array.from(src);
  for (let e = 0, edits = 1 + int(4); e < edits; e++) {
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
export function corners(): Uint8Array {
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

let seedsCache: Uint8Array[] | undefined;
const byteSeeds = () => (seedsCache ??= [readFileSync(PADDLE.cls.path), corners()]);

// ------------------------------------------------------------------ external data

const LOCATIONS = ['w.bin', '..ok.bin', 'big.bin', 'folder.bin', 'pipe.bin', 'link.bin', 'empty.bin', 'sub/w.bin', 'sub/../w.bin', './w.bin'];
const BAD_LOCATIONS = ['../w.bin', '/etc/passwd', 'nope.bin', 'a\0b', '', '.', 'sub/../../w.bin', 'C:\\w.bin'];
const OFFSETS = [undefined, '0', '8', '64', '65', '1000', '3221225472', '3221225536', '-1', 'abc', '1e3', '9007199254740993'];
const LENGTHS = [undefined, undefined, '0', '64', '63', '32', '4294967296', '-5', 'x'];
const DIMS = [[16], [16], [8], [0], [2 ** 31], [4, 4], [1e6], [1e6, 1e6]];
const DTYPES = [DataType.FLOAT, DataType.FLOAT, DataType.INT8, DataType.DOUBLE, 99, DataType.STRING, DataType.INT4];

/** The data files external mutants point at (see LOCATIONS), made once in dir/model; dir/w.bin is '../w.bin'. */
export function externalFixtures(dir: string): void {
  const m = join(dir, 'model');
  if (existsSync(m)) return;
  const bytes = Uint8Array.from({ length: 64 }, (_, k) => k);
  mkdirSync(join(m, 'sub'), { recursive: true });
  mkdirSync(join(dir, 'outside'));
  for (const f of ['w.bin', '..ok.bin', 'big.bin', 'sub/w.bin']) writeFileSync(join(m, f), bytes);
  writeFileSync(join(m, 'empty.bin'), new Uint8Array(0));
  spawnSync('truncate', ['-s', '3G', join(m, 'big.bin')]); // sparse: 3 GB that take no disk
  mkdirSync(join(m, 'folder.bin'));
  spawnSync('mkfifo', [join(m, 'pipe.bin')]);
  writeFileSync(join(dir, 'w.bin'), bytes);
  writeFileSync(join(dir, 'outside', 'o.bin'), bytes);
  symlinkSync(join(dir, 'outside', 'o.bin'), join(m, 'link.bin'));
}

function externalTensor(r: Rnd, name: string): ProtoObject {
  const entries: ProtoObject[] = [{ key: 'location', value: r() < 0.8 ? pick(r, LOCATIONS) : pick(r, BAD_LOCATIONS) }];
  const offset = pick(r, OFFSETS);
  const length = pick(r, LENGTHS);
  if (offset !== undefined) entries.push({ key: 'offset', value: offset });
  if (length !== undefined) entries.push({ key: 'length', value: length });
  if (r() < 0.1) entries.reverse();
  return { name, data_type: pick(r, DTYPES), dims: pick(r, DIMS), data_location: 1, external_data: entries };
}

function externalModel(r: Rnd): Uint8Array {
  const n = 1 + Math.floor(r() * 2);
  const inits = Array.from({ length: n }, (_, k) => externalTensor(r, `w${k}`));
  return encodeMessage(
    {
      ir_version: 10,
      opset_import: [{ domain: '', version: 21 }],
      graph: {
        name: 'g',
        initializer: inits,
        node: inits.map((t) => ({ op_type: 'Identity', input: [t.name], output: [`${t.name}_out`] })),
        output: inits.map((t) => ({ name: `${t.name}_out` })),
      },
    },
    S.Model,
  );
}

// ------------------------------------------------------------------ shape rules

const AXES = [0, 1, -1, 2, 3, -3, -4, 4, 7, 2 ** 31, -(2 ** 31), 2 ** 31 - 1, 2 ** 40, 2 ** 53 - 1];
type ShapeBuild = (b: GraphBuilder, x: string, r: Rnd) => string;

const axis = (r: Rnd) => pick(r, AXES);
const axes = (r: Rnd) => Array.from({ length: 1 + Math.floor(r() * 3) }, () => axis(r));
const SHAPE_OPS: ShapeBuild[] = [
  (b, x, r) => b.op('Slice', [x, b.int64s('s', [0]), b.int64s('e', [1]), b.int64s('a', [axis(r)])]),
  (b, x, r) => {
    const a = axes(r);
    return b.op('Slice', [
      x,
      b.int64s(
        's',
        a.map(() => 0),
      ),
      b.int64s(
        'e',
        a.map(() => 2),
      ),
      b.int64s('a', a),
    ]);
  },
  (b, x, r) => b.op('ReduceSum', [x, b.int64s('a', axes(r))], { keepdims: Math.floor(r() * 2) }),
  (b, x, r) => b.op('ReduceMean', [x, b.int64s('a', axes(r))]),
  (b, x, r) => b.op('Squeeze', [x, b.int64s('a', axes(r))]),
  (b, x, r) => b.op('Unsqueeze', [x, b.int64s('a', axes(r))]),
  (b, x, r) => b.op('Concat', [x, x], { axis: axis(r) }),
  (b, x, r) => b.op('Split', [x], { axis: axis(r) }),
  (b, x, r) => b.op('Gather', [x, b.int64s('i', [0])], { axis: axis(r) }),
  (b, x, r) => b.op('Flatten', [x], { axis: axis(r) }),
  (b, x, r) => b.op('Transpose', [x], { perm: axes(r) }),
  (b, x, r) => b.op('ArgMax', [x], { axis: axis(r) }),
  (b, x, r) => b.op('TopK', [x, b.int64s('k', [1])], { axis: axis(r) }),
  (b, x, r) => b.op('LayerNormalization', [x, b.floats('g', [4], [1, 1, 1, 1])], { axis: axis(r) }),
  (b, x, r) => b.op('Pad', [x, b.int64s('p', [1, 1]), '', b.int64s('a', [axis(r)])]),
  (b, x, r) => b.op('Resize', [x, '', '', b.int64s('sz', [5])], { axes: [axis(r)] }),
  (b, x, r) => b.op('Reshape', [x, b.input('shape', DataType.INT64, [Math.abs(axis(r))])]),
  (b, _x, r) => b.op('ConstantOfShape', [b.input('shape', DataType.INT64, [Math.abs(axis(r))])]),
  (b, x, r) => b.op('Shape', [x], { start: axis(r), end: axis(r) }),
  (b, x, r) => b.op('Softmax', [x], { axis: axis(r) }),
];

function shapeModel(r: Rnd): Uint8Array {
  const b = new GraphBuilder('shape');
  const rank = 1 + Math.floor(r() * 4);
  let y = b.input(
    'x',
    DataType.FLOAT,
    Array.from({ length: rank }, (_, k) => (r() < 0.2 ? `d${k}` : 2 + k)),
  );
  for (let k = 0, n = 1 + Math.floor(r() * 3); k < n; k++) y = pick(r, SHAPE_OPS)(b, y, r);
  b.output(y);
  return serializeModel(b.model({ opset: 18 }));
}

// ------------------------------------------------------------------ one case

/** The mutant class of case k: mostly bytes, a third each of the others. */
export const classOf = (k: number): MutantClass => CLASSES[k % CLASSES.length]!;

/** The analyses tools run on a model that reads; inference must not throw unless asked (strict). */
function analyse(m: ReturnType<typeof readModelFromBytes>): void {
  inferShapes(m);
  modelProblems(m);
  inspectModel(m);
  inferShapes(m, { strict: true }); // may throw a ShapeRuleError: typed
}

/** Runs case k (seed base + k) in folder `dir` (external fixtures are made there). */
export function runCase(k: number, dir: string, base = 1000): CaseResult {
  const cls = classOf(k);
  const r = mulberry32(base + k);
  const label = `${cls}#${k}`;
  try {
    if (cls === 'bytes') {
      const seeds = byteSeeds();
      const m = readModelFromBytes(mutateBytes(seeds[k % seeds.length]!, r), { limits: { maxTensorBytes: 1 << 26 } }, label);
      analyse(m);
    } else if (cls === 'external') {
      externalFixtures(dir);
      const path = join(dir, 'model', `case-${k % 16}.onnx`);
      writeFileSync(path, externalModel(r));
      const limits = { maxTensorBytes: 1 << 26 };
      if (r() < 0.5) modelSize(path);
      const rep = inspectModelFile(path, { limits });
      if (!rep) throw new Error('inspect returned nothing');
    } else {
      let bytes = shapeModel(r);
      if (r() < 0.3) bytes = mutateBytes(bytes, r);
      analyse(readModelFromBytes(bytes, {}, label));
    }
    return { outcome: 'accepted', cls };
  } catch (e) {
    const detail = `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
    return { outcome: e instanceof EdgefitError ? 'typed' : 'untyped', cls, detail: e instanceof EdgefitError ? detail : `${detail}\n${(e as Error)?.stack}` };
  }
}
