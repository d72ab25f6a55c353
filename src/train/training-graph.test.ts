// The training graph is a valid ONNX model (onnx-analysis verifyModel), has one gradient per trainable
// parameter, keeps frozen weights as constants, and fails with the op and node when a rule is missing.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { verifyModel } from '../onnx/verify.js';
import { buildCnn } from './models.js';
import { createSession } from '../runtime/session.js';
import { LOSS_INPUTS } from './losses.js';
import { Rng } from './rng.js';
import { buildTrainingGraph, dropoutMask } from './training-graph.js';

const sample = { x: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) };

test('a CNN training graph with an in-graph AdamW step verifies and has a gradient per parameter', async () => {
  const tg = await buildTrainingGraph(buildCnn('cnn:1x28x28-c4-p-c8-g-10', 0), {
    loss: { kind: 'cross-entropy' },
    sample,
    optimizer: { kind: 'adamw', lr: 1e-3, clipNorm: 1 },
  });
  verifyModel(tg.model);
  const outputs = new Set(tg.model.graph.outputs.map((o) => o.name));
  assert.equal(tg.params.length, 6);
  for (const p of tg.params) {
    assert.ok(outputs.has(p.grad), `gradient of ${p.name} is an output`);
    assert.ok(
      tg.model.graph.inputs.some((i) => i.name === p.name),
      `${p.name} is an input`,
    );
    assert.ok(!tg.model.graph.initializers.has(p.name));
  }
  assert.equal(tg.update!.slots.length, 6);
});

test('frozen weights stay constants and get no gradient', async () => {
  const tg = await buildTrainingGraph(buildCnn('cnn:1x28x28-c4-p-c8-g-10', 0), {
    loss: { kind: 'cross-entropy' },
    sample,
    trainable: { pattern: '^fc|^conv3' },
  });
  assert.deepEqual(tg.params.map((p) => p.name).sort(), ['conv3.bias', 'conv3.weight', 'fc5.bias', 'fc5.weight']);
  assert.deepEqual(tg.frozen.sort(), ['conv1.bias', 'conv1.weight']);
  assert.ok(tg.model.graph.initializers.has('conv1.weight'));
  // the first conv's input gradient is never needed, so no ConvTranspose reads the first conv's weight
  assert.ok(!tg.model.graph.nodes.some((n) => n.opType === 'ConvTranspose' && n.inputs[1] === 'conv1.weight'));
});

test('a trainable weight behind an op without a rule is an error naming the op and node', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, ['batch', 4]);
  const w = b.floats(
    'w',
    [4, 3],
    Array.from({ length: 12 }, (_, i) => i / 12),
  );
  const y = b.op('Sin', [b.op('MatMul', [x, w])], {}, { name: 'the_sin' });
  b.output(b.op('Identity', [y], {}, { outputs: ['logits'] }));
  await assert.rejects(
    buildTrainingGraph(b.model(), { loss: { kind: 'cross-entropy' }, sample: { x: new ort.Tensor('float32', new Float32Array(8), [2, 4]) } }),
    /no gradient rule for op 'Sin' \(node 'the_sin'\)/,
  );
});

test('Dropout trains with a fed mask: the gradient uses the same mask (finite differences, float32, eps 1e-2, atol 3e-3, rtol 2e-2)', async () => {
  // x [2,4] → MatMul w1 [4,3] → Dropout(0.5) → MatMul w2 [3,2] → logits; cross-entropy
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, ['batch', 4]);
  const w1 = b.floats(
    'w1',
    [4, 3],
    Array.from({ length: 12 }, (_, i) => Math.sin(i + 1)),
  );
  const w2 = b.floats(
    'w2',
    [3, 2],
    Array.from({ length: 6 }, (_, i) => Math.cos(2 * i + 1)),
  );
  const h = b.op('Dropout', [b.op('MatMul', [x, w1]), b.floats('ratio', [], [0.5])], {}, { name: 'the_dropout' });
  b.output(b.op('MatMul', [h, w2], {}, { outputs: ['logits'] }));
  const xs = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 8 }, (_, i) => 0.3 * i - 1),
    [2, 4],
  );
  const tg = await buildTrainingGraph(b.model({ opset: 17 }), { loss: { kind: 'cross-entropy' }, sample: { x: xs } });
  assert.equal(tg.dropout.length, 1);
  const d = tg.dropout[0]!;
  assert.equal(d.ratio, 0.5);
  assert.deepEqual(d.sampleShape, [3]);
  assert.ok(!tg.model.graph.nodes.some((n) => n.opType === 'Dropout'));
  // unit 1 dropped in both samples, the others kept (scaled by 2) in one or both
  const mask = Float32Array.of(2, 0, 2, 0, 0, 2);
  const session = await createSession(tg.model);
  const feeds = (w1v: Float32Array, w2v: Float32Array): Record<string, ort.Tensor> => ({
    x: xs,
    w1: new ort.Tensor('float32', w1v, [4, 3]),
    w2: new ort.Tensor('float32', w2v, [3, 2]),
    [d.mask]: new ort.Tensor('float32', mask, [2, 3]),
    [LOSS_INPUTS.target]: new ort.Tensor('float32', Float32Array.of(1, 0, 0, 1), [2, 2]),
    [LOSS_INPUTS.weight]: new ort.Tensor('float32', Float32Array.of(0.5, 0.5), [2]),
  });
  const w1v = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
  const w2v = Float32Array.from({ length: 6 }, (_, i) => Math.cos(2 * i + 1));
  const out = await session.run(feeds(w1v, w2v));
  const g1 = out[tg.params.find((p) => p.name === 'w1')!.grad]!.data as Float32Array;
  const g2 = out[tg.params.find((p) => p.name === 'w2')!.grad]!.data as Float32Array;
  // the dropped unit's incoming and outgoing weights get no gradient
  for (let i = 0; i < 4; i++) assert.equal(g1[i * 3 + 1], 0);
  assert.equal(g2[2], 0);
  assert.equal(g2[3], 0);
  const loss = async (v1: Float32Array, v2: Float32Array) => Number((await session.run(feeds(v1, v2)))[tg.loss]!.data[0]);
  const eps = 1e-2;
  for (const [which, base, grad] of [
    ['w1', w1v, g1],
    ['w2', w2v, g2],
  ] as const) {
    for (let i = 0; i < base.length; i++) {
      const plus = base.slice();
      plus[i]! += eps;
      const minus = base.slice();
      minus[i]! -= eps;
      const numeric =
        which === 'w1' ? ((await loss(plus, w2v)) - (await loss(minus, w2v))) / (2 * eps) : ((await loss(w1v, plus)) - (await loss(w1v, minus))) / (2 * eps);
      assert.ok(Math.abs(grad[i]! - numeric) <= 3e-3 + 2e-2 * Math.abs(numeric), `${which}[${i}]: analytic ${grad[i]} vs numeric ${numeric}`);
    }
  }
  await session.release();
});

test('dropout masks keep about 1 − ratio of the elements, scaled by 1/(1 − ratio), and repeat with the seed', () => {
  const a = dropoutMask(20000, 0.3, new Rng(5));
  const kept = a.filter((v) => v !== 0);
  assert.ok(Math.abs(kept.length / a.length - 0.7) < 0.02, `kept ${kept.length / a.length}`);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
  assert.deepEqual(dropoutMask(100, 0.3, new Rng(5)), a.subarray(0, 100));
  assert.notDeepEqual(dropoutMask(100, 0.3, new Rng(6)), a.subarray(0, 100));
});
