import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { maxAbsDiff, runModel } from '../passes/quant/ort-check.js';
import { randn, normal, rng } from '../zoo/rng.js';
import { pruneAndRecover, recover, teacherLogits } from './recover.js';
import { logitsModel, trainingLogits } from './training-logits.js';

/** x [B, T, 6] → MatMul [6, 8] → Relu → MatMul [8, 5] → Softmax: a per-frame sequence model. */
function seqModel(seed: number, softmax = true): Model {
  const g = normal(rng(seed));
  const b = new GraphBuilder();
  const h = b.op('Relu', [b.op('MatMul', [b.input('x', DataType.FLOAT, ['b', 4, 6]), b.floats('w1', [6, 8], randn(48, 0.6, g))], {}, { name: 'l1' })]);
  const z = b.op('MatMul', [h, b.floats('w2', [8, 5], randn(40, 0.6, g))], {}, { name: 'l2', outputs: ['logits'] });
  b.output(softmax ? b.op('Softmax', [z], { axis: -1 }, { outputs: ['probs'] }) : z);
  return b.model();
}

const data = (n: number) => ({ x: randn(n * 24, 1, normal(rng(5))), sampleShape: [4, 6] });

test('a final Softmax is distilled on its input', () => {
  assert.equal(trainingLogits(seqModel(1)).logits, 'logits');
  assert.equal(trainingLogits(seqModel(1, false)).logits, 'logits');
});

test('logitsModel: a copy whose one output is the logits; the model itself keeps its output', () => {
  const m = seqModel(1);
  const v = logitsModel(m);
  assert.notEqual(v.model, m);
  assert.deepEqual(
    v.model.graph.outputs.map((o) => o.name),
    ['logits'],
  );
  assert.deepEqual(
    m.graph.outputs.map((o) => o.name),
    ['probs'],
  );
});

test('sequence outputs are distilled per frame without labels; the teacher runs once for all epochs', async () => {
  const teacher = seqModel(1);
  const student = seqModel(2);
  const d = data(64);
  const feeds = { x: { dims: [64, 4, 6], data: d.x } };
  const ref = (await runModel(teacher, feeds)).probs!;
  const before = maxAbsDiff(ref, (await runModel(student, feeds)).probs!);
  // the random teacher has no blank class: uniform frames, as this checks the per-frame mechanics (frame-weights.test.ts balances)
  const r = await recover({ student, teacher, data: d, epochs: 20, batchSize: 16, lr: 1e-2, balanceFrames: false });
  assert.equal(r.teacher.runs, 2, 'one teacher pass over 64 samples in batches of 32');
  assert.equal(r.teacher.frames, 4);
  const after = maxAbsDiff(ref, (await runModel(r.model, feeds)).probs!);
  assert.ok(after < before / 2, `max |Δp| ${before} → ${after}`);
  assert.ok(r.history[r.history.length - 1]!.loss < r.history[0]!.loss);
});

test('the cache is what is learnt: a given cache is followed, not the model', async () => {
  const student = seqModel(2);
  const d = data(32);
  const cache = await teacherLogits(seqModel(3), d);
  const r = await recover({ student, teacher: cache, data: d, epochs: 20, batchSize: 16, lr: 1e-2 });
  assert.equal(r.teacher, cache);
  const got = await teacherLogits(r.model, d);
  const start = await teacherLogits(student, d);
  assert.ok(maxAbsDiff(cache.logits, got.logits) < maxAbsDiff(cache.logits, start.logits));
});

test('iterative schedule: kept fractions multiply to 1 − ratio, one teacher cache', async () => {
  const ratios: number[] = [];
  const r = await pruneAndRecover(
    seqModel(1),
    async (m, ratio) => {
      ratios.push(ratio);
      return m;
    },
    { ratio: 0.75, steps: 2, data: data(32), epochs: 1 },
  );
  assert.equal(ratios.length, 2);
  assert.ok(Math.abs((1 - ratios[0]!) * (1 - ratios[1]!) - 0.25) < 1e-9);
  assert.equal(r.teacher.runs, 1);
});

test('with class labels the task loss is added (alpha 0: labels only, the teacher ignored)', async () => {
  const g = normal(rng(7));
  const b = new GraphBuilder();
  b.output(b.op('MatMul', [b.input('x', DataType.FLOAT, ['b', 6]), b.floats('w', [6, 3], randn(18, 0.1, g))], {}, { outputs: ['logits'] }));
  const student = b.model();
  const n = 96;
  const x = randn(n * 6, 1, g);
  const labels = Int32Array.from({ length: n }, (_, i) => (x[i * 6]! > 0.5 ? 0 : x[i * 6 + 1]! > 0 ? 1 : 2));
  const acc = async (m: Model) => {
    const out = (await runModel(m, { x: { dims: [n, 6], data: x } })).logits!;
    let ok = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(out.subarray(i * 3, i * 3 + 3));
      if (row.indexOf(Math.max(...row)) === labels[i]) ok++;
    }
    return ok / n;
  };
  const r = await recover({ student, teacher: student, data: { x, sampleShape: [6], labels }, alpha: 0, epochs: 40, batchSize: 32, lr: 5e-2 });
  assert.ok((await acc(r.model)) > Math.max(0.8, await acc(student)), `accuracy ${await acc(student)} → ${await acc(r.model)}`);
});
