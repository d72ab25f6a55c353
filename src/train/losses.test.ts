// Loss values from the graph against the formulas computed directly in TypeScript, and parameter
// selection (pattern, after a tensor, all).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { createSession } from '../runtime/session.js';
import { appendLoss, classTargets, LOSS_INPUTS, type LossSpec } from './losses.js';
import { buildMlp } from './models.js';
import { selectTrainable } from './training-graph.js';

const logits = [2, -1, 0.5, 0.1, 0.3, -2, 1, 1, 1, -0.5, 2.5, 0];
const teacher = [1, 0, -1, 0.2, 2, 0, 0.5, 0.5, 3, 1, 1, -1];
const labels = [0, 1, 2, 1];
const C = 3;

async function graphLoss(spec: LossSpec, target: Float32Array, weight?: Float32Array): Promise<number> {
  const b = new GraphBuilder('l');
  const z = b.input('z', DataType.FLOAT, [4, C]);
  const { loss } = appendLoss(b, z, spec, C);
  b.output(loss, DataType.FLOAT, []);
  const s = await createSession(b.model());
  const feeds: Record<string, ort.Tensor> = {
    z: new ort.Tensor('float32', Float32Array.from(logits), [4, C]),
    [LOSS_INPUTS.target]: new ort.Tensor('float32', target, spec.kind === 'mse' ? [4, C] : [4, C]),
  };
  if (weight) feeds[LOSS_INPUTS.weight] = new ort.Tensor('float32', weight, [4]);
  if (spec.kind === 'distill') feeds[LOSS_INPUTS.teacher] = new ort.Tensor('float32', Float32Array.from(teacher), [4, C]);
  const out = await s.run(feeds);
  return Number((out[loss]!.data as Float32Array)[0]);
}

const logSoftmax = (row: number[], T = 1) => {
  const v = row.map((x) => x / T);
  const m = Math.max(...v);
  const lse = m + Math.log(v.reduce((a, x) => a + Math.exp(x - m), 0));
  return v.map((x) => x - lse);
};
const row = (a: number[], i: number) => a.slice(i * C, (i + 1) * C);

test('cross-entropy with label smoothing and class weights matches the formula', async () => {
  const opts = { labelSmoothing: 0.1, classWeights: [1, 2, 0.5] };
  const { target, weight } = classTargets(labels, C, opts);
  let num = 0;
  let den = 0;
  labels.forEach((y, i) => {
    const lp = logSoftmax(row(logits, i));
    const t = [0, 1, 2].map((c) => (c === y ? 0.9 : 0) + 0.1 / C);
    const w = opts.classWeights[y]!;
    num += w * -t.reduce((a, tc, c) => a + tc * lp[c]!, 0);
    den += w;
  });
  assert.ok(Math.abs((await graphLoss({ kind: 'cross-entropy', ...opts }, target, weight)) - num / den) < 1e-5);
});

test('KL distillation at a temperature (mixed with cross-entropy) matches the formula', async () => {
  const T = 2;
  const alpha = 0.7;
  const { target, weight } = classTargets(labels, C);
  let kl = 0;
  let ce = 0;
  labels.forEach((y, i) => {
    const lt = logSoftmax(row(teacher, i), T);
    const ls = logSoftmax(row(logits, i), T);
    kl += lt.reduce((a, l, c) => a + Math.exp(l) * (l - ls[c]!), 0) / 4;
    ce += -logSoftmax(row(logits, i))[y]! / 4;
  });
  const want = alpha * T * T * kl + (1 - alpha) * ce;
  assert.ok(Math.abs((await graphLoss({ kind: 'distill', temperature: T, alpha }, target, weight)) - want) < 1e-5);
});

test('MSE matches the formula', async () => {
  const target = Float32Array.from(logits, (v, i) => v * 0.5 + (i % 3));
  const want = logits.reduce((a, v, i) => a + (v - target[i]!) ** 2, 0) / logits.length;
  assert.ok(Math.abs((await graphLoss({ kind: 'mse' }, target)) - want) < 1e-5);
});

test('trainable parameters: all, by pattern, after a tensor', () => {
  const m = buildMlp([8, 6, 4, 2], 0);
  assert.deepEqual(selectTrainable(m).sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight', 'fc3.bias', 'fc3.weight']);
  assert.deepEqual(selectTrainable(m, { pattern: 'weight$' }).sort(), ['fc1.weight', 'fc2.weight', 'fc3.weight']);
  const relu2 = m.graph.nodes.find((n) => n.name === 'fc2/Relu')!.outputs[0]!;
  assert.deepEqual(selectTrainable(m, { after: relu2 }).sort(), ['fc3.bias', 'fc3.weight']);
  assert.throws(() => selectTrainable(m, { after: 'nope' }), /no tensor named 'nope'/);
  assert.throws(() => selectTrainable(m, { pattern: 'zzz' }), /no parameter is trainable/);
});
