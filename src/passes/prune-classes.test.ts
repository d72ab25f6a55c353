import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { verifyModel } from '../onnx/verify.js';
import { chooseClasses, unseenChance } from './classes/class-use.js';
import { FILL } from './classes/narrow-head.js';
import type { Feeds } from './pass.js';
import { pruneClassesPass } from './prune-classes.js';
import { quantizeStaticPass } from './quantize-static.js';
import { runModel } from './quant/ort-check.js';

const C = 10;
const D = 4;
const pattern = (n: number, seed: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => scale * (((i * 7919 + seed * 104729) % 97) / 97 - 0.5));
/** Classes 0–2 get a bias of +6, the rest −6: only those three are ever likely. */
const BIAS = Float32Array.from({ length: C }, (_, c) => (c < 3 ? 6 : -6));
/** The weight favours classes 0–2 too (inputs are Sigmoid outputs, all positive), unless flat. */
const weight = (layout: 'DC' | 'CD', flat = false) =>
  Float32Array.from({ length: C * D }, (_, i) => {
    const c = layout === 'DC' ? i % C : Math.floor(i / D);
    return flat ? 0.1 * pattern(1, i)[0]! : (c < 3 ? 3 : -3) + pattern(1, i)[0]!;
  });

type Tail = 'softmax' | 'logsoftmax' | 'none';
function head(
  opts: { gemm?: 'transB' | 'plain'; bias?: boolean; tail?: Tail; beta?: number; shareWeight?: boolean; flat?: boolean; opset?: number } = {},
): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['n', D]);
  const h = b.op('Sigmoid', [x]);
  const tail = opts.tail ?? 'softmax';
  let logits: string;
  if (opts.gemm) {
    const w = opts.gemm === 'transB' ? b.floats('w', [C, D], weight('CD')) : b.floats('w', [D, C], weight('DC'));
    const inputs = [h, w, ...(opts.bias === false ? [] : [b.floats('b', [C], BIAS)])];
    logits = b.op('Gemm', inputs, { transB: opts.gemm === 'transB' ? 1 : 0, beta: opts.beta ?? 1 });
  } else {
    let w = b.floats('w', [D, C], weight('DC', opts.flat));
    if (opts.shareWeight) {
      // torch.onnx style: the weight reaches the head through an Identity, and a second MatMul reads it too
      const shared = w;
      w = b.op('Identity', [shared]);
      b.output(b.op('MatMul', [h, shared], {}, { name: 'other' }), DataType.FLOAT);
    }
    const mm = b.op('MatMul', [h, w]);
    logits = opts.bias === false ? mm : b.op('Add', [mm, b.floats('b', [C], BIAS)]);
  }
  const out = tail === 'softmax' ? b.op('Softmax', [logits], { axis: -1 }) : tail === 'logsoftmax' ? b.op('LogSoftmax', [logits], { axis: -1 }) : logits;
  b.graph.outputs.unshift({ name: out, type: { kind: 'tensor', elemType: DataType.FLOAT, shape: ['n', C] } });
  return b.model({ opset: opts.opset ?? 17 });
}

const inputs = (seed: number, n = 16) => pattern(n * D, seed, 2);
const calibration = () =>
  (async function* (): AsyncIterable<Feeds> {
    for (let s = 0; s < 3; s++) yield { x: { type: 'float32', dims: [16, D], data: inputs(10 + s) } };
  })();

async function prune(m: Model, params: Record<string, unknown> = {}) {
  const r = await pruneClassesPass.run(m.clone(), { minProb: 0.001, minMass: 0.99, samples: 64, ...params }, { calibration });
  verifyModel(r.model, { context: 'prune-classes test' });
  return r;
}

const out0 = async (m: Model, x: Float32Array) => Object.values(await runModel(m, { x: { dims: [16, D], data: x } }))[0]!;

test('prune-classes: MatMul + bias + Softmax keeps the used classes, their probabilities renormalised, the others exactly 0', async () => {
  const m = head();
  const { model, record } = await prune(m);
  assert.equal(record.stats.classesKept, 3);
  assert.equal(record.stats.classesPruned, C - 3);
  const w = [...model.graph.initializers.values()].find((t) => t.dims.length === 2)!;
  assert.deepEqual(w.dims, [D, 3], 'the weight keeps 3 columns');
  const x = inputs(99);
  const [ref, got] = [await out0(m, x), await out0(model, x)];
  assert.equal(got.length, ref.length, 'the output keeps its shape');
  for (let r = 0; r < 16; r++) {
    const kept = ref[r * C]! + ref[r * C + 1]! + ref[r * C + 2]!;
    for (let c = 0; c < C; c++) {
      if (c < 3) assert.ok(Math.abs(got[r * C + c]! - ref[r * C + c]! / kept) < 1e-6, `row ${r} class ${c}`);
      else assert.equal(got[r * C + c], 0, `row ${r}: dropped class ${c} reads 0`);
    }
  }
});

test('prune-classes: heads without a Softmax keep their kept scores exactly and give dropped ones FILL', async () => {
  for (const opts of [{ tail: 'none' as const }, { tail: 'none' as const, bias: false }, { gemm: 'transB' as const, tail: 'none' as const, beta: 0.5 }]) {
    const m = head(opts);
    const { model, record } = await prune(m);
    const kept = (record.stats.classesKept as number) ?? 0;
    assert.ok(kept > 0 && kept < C, `${JSON.stringify(opts)}: ${JSON.stringify(record.stats)} ${record.notes}`);
    const x = inputs(98);
    const [ref, got] = [await out0(m, x), await out0(model, x)];
    let fills = 0;
    for (let i = 0; i < ref.length; i++)
      if (got[i] === FILL) fills++;
      else assert.ok(Math.abs(got[i]! - ref[i]!) < 1e-5, `${JSON.stringify(opts)} element ${i}: ${got[i]} vs ${ref[i]}`);
    assert.equal(fills, 16 * (C - kept), `${JSON.stringify(opts)}: every dropped class reads FILL`);
  }
});

test('prune-classes: Gemm (both weight layouts, with and without bias) and LogSoftmax heads keep the arg max', async () => {
  for (const opts of [{ gemm: 'transB' as const }, { gemm: 'plain' as const }, { gemm: 'plain' as const, beta: 0 }, { tail: 'logsoftmax' as const }]) {
    const m = head(opts);
    const { model, record } = await prune(m);
    assert.ok((record.stats.classesPruned as number) > 0, `${JSON.stringify(opts)}: ${record.notes}`);
    const x = inputs(97);
    const [ref, got] = [await out0(m, x), await out0(model, x)];
    for (let r = 0; r < 16; r++) {
      const am = (a: Float32Array) => a.subarray(r * C, (r + 1) * C).reduce((best, v, i, row) => (v > row[best]! ? i : best), 0);
      assert.equal(am(got), am(ref), `${JSON.stringify(opts)} row ${r}`);
    }
  }
});

test('prune-classes: a weight shared through Identity is copied, its other reader unchanged', async () => {
  const m = head({ shareWeight: true });
  const { model, record } = await prune(m);
  assert.ok((record.stats.classesPruned as number) > 0);
  const x = inputs(96);
  const ref = await runModel(m, { x: { dims: [16, D], data: x } });
  const got = await runModel(model, { x: { dims: [16, D], data: x } });
  const other = m.graph.outputs[1]!.name;
  assert.deepEqual([...got[other]!], [...ref[other]!]);
});

test('prune-classes: leaves the model alone when the used classes hold too little probability, or there is no head', async () => {
  const flat = head({ bias: false, flat: true }); // every class about as likely: the arg maxes hold little of the probability
  const a = await prune(flat, { minProb: 0.2 });
  assert.equal(a.record.stats.classesPruned, 0, String(a.record.notes));
  assert.match(a.record.notes.join(' '), /hold .* of the probability/);
  // the mass rule at its boundary: a head whose kept classes hold m is pruned at minMass m, not just above
  const mid = head({ tail: 'none', flat: true, bias: false });
  const m = (await prune(mid, { minProb: 0.5, minMass: 0 })).record.stats.keptMassMean as number;
  assert.ok(m > 0.2 && m < 0.99, `kept mass ${m}`);
  assert.ok(((await prune(mid, { minProb: 0.5, minMass: m })).record.stats.classesPruned as number) > 0);
  assert.equal((await prune(mid, { minProb: 0.5, minMass: m + 1e-9 })).record.stats.classesPruned, 0);
  const g = new GraphBuilder();
  g.output(g.op('Relu', [g.input('x', DataType.FLOAT, ['n', D])]));
  const none = await prune(g.model());
  assert.match(none.record.notes.join(' '), /no class head/);
  await assert.rejects(() => prune(head(), { output: 'nope' }), /has no output 'nope'/);
});

test('chooseClasses: every arg max, and a class exactly at minProb, are kept; one just under is not', () => {
  const use = {
    frames: 3,
    samples: 3,
    top: Uint32Array.from([2, 0, 0, 1, 0]),
    tokens: Uint32Array.from([1, 0, 0, 1, 0]),
    maxProb: Float32Array.from([0.9, 0.25, 0.125, 0.0001, 0]),
  };
  assert.deepEqual(chooseClasses(use, 0.25), [0, 1, 3]);
  assert.deepEqual(chooseClasses(use, 0.125), [0, 1, 2, 3]);
});

test('unseenChance: tokens of classes seen once, over all tokens (Good–Turing)', () => {
  const use = (tokens: number[]) => ({ frames: 0, samples: 0, top: new Uint32Array(4), tokens: Uint32Array.from(tokens), maxProb: new Float32Array(4) });
  assert.equal(unseenChance(use([5, 1, 1, 3])), 2 / 10);
  assert.equal(unseenChance(use([5, 2, 0, 3])), 0);
  assert.equal(unseenChance(use([0, 0, 0, 0])), 1, 'no data: nothing is known');
});

test('prune-classes: too few calibration samples to show the classes leaves the head alone', async () => {
  // one row: its one pick was seen once, so by Good–Turing a new row's class is as likely unseen
  const few = async function* (): AsyncIterable<Feeds> {
    yield { x: { type: 'float32', dims: [1, D], data: inputs(10, 1) } };
  };
  const r = await pruneClassesPass.run(head().clone(), { minProb: 0.001, minMass: 0.99, samples: 64, maxUnseen: 0.01 }, { calibration: few });
  assert.equal(r.record.stats.classesPruned, 0);
  assert.match(r.record.notes.join(' '), /too few/);
  const lax = await pruneClassesPass.run(head().clone(), { minProb: 0.001, minMass: 0.99, samples: 64, maxUnseen: 1 }, { calibration: few });
  assert.ok((lax.record.stats.classesPruned as number) > 0, 'the same data pass when the rule allows it');
});

test('prune-classes: static int8 of the narrowed head agrees with the source as often as static int8 of the whole head (no extreme value reaches a calibrated activation)', async () => {
  const am = (a: Float32Array, r: number) => a.subarray(r * C, (r + 1) * C).reduce((best, v, i, row) => (v > row[best]! ? i : best), 0);
  const agree = (a: Float32Array, b: Float32Array) => Array.from({ length: 16 }, (_, r) => am(a, r) === am(b, r)).filter(Boolean).length;
  for (const tail of ['softmax', 'none'] as const) {
    const m = head({ tail });
    const x = inputs(95);
    const ref = await out0(m, x);
    const whole = await out0((await quantizeStaticPass.run(m.clone(), { scope: 'all' }, { calibration })).model, x);
    const narrowed = await out0((await quantizeStaticPass.run((await prune(m)).model, { scope: 'all' }, { calibration })).model, x);
    assert.ok(agree(ref, narrowed) >= agree(ref, whole) - 1, `${tail}: ${agree(ref, narrowed)} vs ${agree(ref, whole)} of 16`);
    assert.ok(agree(ref, narrowed) >= 12, `${tail}: ${agree(ref, narrowed)} of 16`);
  }
});

test('prune-classes: the search runs it only with calibration data, before the calibrated quantizers', () => {
  assert.equal(pruneClassesPass.needsCalibration, true);
  assert.equal(pruneClassesPass.taskPrefix, true);
});

test('prune-classes: the output named, opset 11 and up only, every class used, no data: each says what happened', async () => {
  const m = head({ shareWeight: true });
  const named = await prune(m, { output: m.graph.outputs[0]!.name });
  assert.equal(named.record.stats.classesKept, 3);
  const other = await prune(m, { output: m.graph.outputs[1]!.name });
  // the second output is a head too (a MatMul with a constant weight, scores without bias): named, it is the one narrowed
  assert.ok((other.record.stats.classesPruned as number) > 0);
  assert.match(other.record.notes.join(' '), new RegExp(`^${m.graph.outputs[1]!.name}:`));
  assert.match(named.record.notes.join(' '), new RegExp(`^${m.graph.outputs[0]!.name}:`));
  const old = await prune(head({ opset: 10 }));
  assert.equal(old.record.stats.classesPruned, 0);
  assert.match(old.record.notes.join(' '), /opset 11/);
  const eleven = await prune(head({ opset: 11 }));
  assert.equal(eleven.record.stats.classesPruned, C - 3, 'opset 11 has the ops it needs');
  const all = await prune(head(), { minProb: 0 });
  assert.equal(all.record.stats.classesPruned, 0);
  assert.match(all.record.notes.join(' '), /every one of 10 classes/);
  await assert.rejects(() => pruneClassesPass.run(head(), { minProb: 0.001, minMass: 0.99, samples: 64, maxUnseen: 0.01 }, {}), /has none/);
});
