// Distillation: the KL term and its gradient against finite differences and the closed form, a student
// that learns more from a teacher on unlabelled digits than alone on the labelled ones, and the errors
// a user can cause.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';
import { createSession } from '../runtime/session.js';
import { mulberry32 } from '../util/rng.js';
import { buildBackward } from './backward.js';
import { mnistSplits, subset } from './dataset.js';
import { accuracyOf, distill } from './distill.js';
import { appendKlDivergence } from './losses.js';
import { trainModel } from './loop.js';
import { addLora } from './lora.js';
import { buildMlp } from './models.js';
import { probeFacts } from './probe.js';

test('KL at temperature T: value, gradient = T·(p_s − p_t)/rows, and finite differences agree (float32, eps 1e-2, atol 2e-4)', async () => {
  const [rows, C, T] = [3, 5, 2.5];
  const r = mulberry32(3);
  const s = Float32Array.from({ length: rows * C }, () => (r() * 2 - 1) * 3);
  const t = Float32Array.from({ length: rows * C }, () => (r() * 2 - 1) * 3);
  const b = new GraphBuilder('kl');
  b.input('s', DataType.FLOAT, [rows, C]);
  b.input('t', DataType.FLOAT, [rows, C]);
  const loss = appendKlDivergence(b, 's', 't', C, T);
  b.output(loss, DataType.FLOAT, []);
  const m = b.model({ opset: 17 });
  const feeds = { s: new ort.Tensor('float32', s, [rows, C]), t: new ort.Tensor('float32', t, [rows, C]) };
  const fwd = await createSession(m.clone());
  const grads = buildBackward(m.graph, loss, ['s'], await probeFacts(m, feeds), 17);
  m.graph.outputs.push({ name: grads.get('s')! });
  const sess = await createSession(m);
  const out = await sess.run(feeds);
  const g = out[grads.get('s')!]!.data as Float32Array;
  const softmax = (v: Float32Array, i: number) => {
    const row = Array.from(v.subarray(i * C, (i + 1) * C), (z) => z / T);
    const mx = Math.max(...row);
    const e = row.map((z) => Math.exp(z - mx));
    const sum = e.reduce((a, q) => a + q, 0);
    return e.map((q) => q / sum);
  };
  let kl = 0;
  for (let i = 0; i < rows; i++) {
    const [ps, pt] = [softmax(s, i), softmax(t, i)];
    for (let c = 0; c < C; c++) {
      kl += (pt[c]! * Math.log(pt[c]! / ps[c]!) * T * T) / rows;
      const want = (T * (ps[c]! - pt[c]!)) / rows;
      assert.ok(Math.abs(g[i * C + c]! - want) < 1e-5, `closed form ${i},${c}: ${g[i * C + c]} vs ${want}`);
    }
  }
  assert.ok(Math.abs((out[loss]!.data as Float32Array)[0]! - kl) < 1e-4 * (1 + kl), 'the loss value is the KL');
  const eps = 1e-2;
  for (let i = 0; i < s.length; i++) {
    const at = async (d: number) => {
      const v = s.slice();
      v[i] = v[i]! + d;
      const o = await fwd.run({ ...feeds, s: new ort.Tensor('float32', v, [rows, C]) });
      return (o[loss]!.data as Float32Array)[0]!;
    };
    const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
    assert.ok(Math.abs(g[i]! - numeric) <= 2e-4 + 2e-2 * Math.abs(numeric), `d/ds[${i}] ${g[i]} vs numeric ${numeric}`);
  }
});

test('a student distilled on unlabelled digits beats the same student trained alone on the labelled ones (same steps)', async () => {
  const splits = mnistSplits({ limit: 3000 });
  const teacher = (await trainModel({ model: buildMlp([784, 128, 10], 1), train: splits.train, epochs: 4, batchSize: 64, seed: 1 })).model;
  const labelled = subset(splits.train, 0, 60);
  const steps = 120;
  const alone = await trainModel({ model: buildMlp([784, 16, 10], 2), train: labelled, epochs: 1000, maxSteps: steps, batchSize: 32, seed: 2 });
  // the same 60 labels, plus the rest of the training digits with their labels hidden
  const pool = { ...splits.train, labels: Int32Array.from(splits.train.labels, (y, i) => (i < 60 ? y : -1)) };
  const kd = await distill({ teacher, student: buildMlp([784, 16, 10], 2), train: pool, epochs: 1000, maxSteps: steps, batchSize: 32, seed: 2 });
  assert.equal(kd.steps, steps);
  const [accAlone, accKd, accTeacher] = [
    await accuracyOf(alone.model, 'x', 'logits', splits.test),
    await accuracyOf(kd.model, 'x', 'logits', splits.test),
    await accuracyOf(teacher, 'x', 'logits', splits.test),
  ];
  assert.ok(accTeacher > 0.85, `the teacher learned (${accTeacher})`);
  assert.ok(accKd > accAlone + 0.03, `distilled ${accKd.toFixed(3)} vs alone ${accAlone.toFixed(3)} (teacher ${accTeacher.toFixed(3)})`);
});

test('a teacher whose outputs do not match the student is refused before training', async () => {
  const splits = mnistSplits({ limit: 200 });
  await assert.rejects(
    distill({ teacher: buildMlp([784, 8, 10]), student: buildMlp([784, 8, 7]), train: splits.train, epochs: 1 }),
    (e: unknown) =>
      e instanceof UsageError && /teacher's outputs \(1 row\(s\) of 10 per sample\) do not match the student's \(1 row\(s\) of 7\)/.test(e.message),
  );
});

test('hidden-state matching through a learned projection when widths differ runs and lowers the loss', async () => {
  const splits = mnistSplits({ limit: 400 });
  const teacher = buildMlp([784, 32, 10], 5);
  const r = await distill({
    teacher,
    student: buildMlp([784, 8, 10], 6),
    train: splits.train,
    epochs: 3,
    batchSize: 32,
    hidden: [{ student: 'fc1/Relu_out0', teacher: 'fc1/Relu_out0' }],
  });
  assert.ok(r.history[2]!.loss < r.history[0]!.loss, JSON.stringify(r.history));
  assert.ok(!r.model.graph.initializers.has('kd.proj.0'), 'the projection is not part of the student');
});

test('with frozen weights (LoRA) validation runs in the training session and scores what the student scores alone', async () => {
  const splits = mnistSplits({ limit: 600 });
  const teacher = (await trainModel({ model: buildMlp([784, 32, 10], 1), train: splits.train, epochs: 2, batchSize: 32, seed: 1 })).model;
  const lora = addLora(buildMlp([784, 24, 10], 2), { rank: 2 });
  const val = subset(splits.val, 0, 70); // not a multiple of the batch: the last batch is smaller
  const seen: number[] = [];
  for (const epochs of [1, 2]) {
    const r = await distill({
      ...{ teacher, student: lora.model, trainable: lora.trainable, train: splits.train, val, epochs, batchSize: 32, seed: 3 },
      optimizer: { kind: 'adamw', lr: 1e-2 },
    });
    assert.equal(r.validatedIn, 'training-session');
    seen.push(r.history[r.bestEpoch - 1]!.valAccuracy!);
    // the model returned is the best epoch's: scored alone, in its own session, it gives the same accuracy
    assert.equal(await accuracyOf(r.model, 'x', 'logits', val), seen.at(-1), `epochs ${epochs}`);
  }
  const full = await distill({ teacher, student: buildMlp([784, 24, 10], 2), train: splits.train, val, epochs: 1, batchSize: 32, seed: 3 });
  assert.equal(full.validatedIn, 'own-session', 'nothing frozen: nothing held twice, so its own session at a larger batch');
  const before = await accuracyOf(lora.model, 'x', 'logits', val);
  assert.ok(
    seen.every((a) => a > before + 0.03),
    `the adapters changed the answers: ${before} before, ${seen.join(', ')} after`,
  );
});
