// The training graph is a valid ONNX model (onnx-analysis verifyModel), has one gradient per trainable
// parameter, keeps frozen weights as constants, and fails with the op and node when a rule is missing.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { verifyModel } from '../onnx/verify.js';
import { buildCnn } from './models.js';
import { buildTrainingGraph } from './training-graph.js';

const sample = { x: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) };

test('a CNN training graph with an in-graph AdamW step verifies and has a gradient per parameter', async () => {
  const tg = await buildTrainingGraph(buildCnn('cnn:1x28x28-c4-p-c8-g-10', 0), { loss: { kind: 'cross-entropy' }, sample, optimizer: { kind: 'adamw', lr: 1e-3, clipNorm: 1 } });
  verifyModel(tg.model);
  const outputs = new Set(tg.model.graph.outputs.map((o) => o.name));
  assert.equal(tg.params.length, 6);
  for (const p of tg.params) {
    assert.ok(outputs.has(p.grad), `gradient of ${p.name} is an output`);
    assert.ok(tg.model.graph.inputs.some((i) => i.name === p.name), `${p.name} is an input`);
    assert.ok(!tg.model.graph.initializers.has(p.name));
  }
  assert.equal(tg.update!.slots.length, 6);
});

test('frozen weights stay constants and get no gradient', async () => {
  const tg = await buildTrainingGraph(buildCnn('cnn:1x28x28-c4-p-c8-g-10', 0), { loss: { kind: 'cross-entropy' }, sample, trainable: { pattern: '^fc|^conv3' } });
  assert.deepEqual(tg.params.map((p) => p.name).sort(), ['conv3.bias', 'conv3.weight', 'fc5.bias', 'fc5.weight']);
  assert.deepEqual(tg.frozen.sort(), ['conv1.bias', 'conv1.weight']);
  assert.ok(tg.model.graph.initializers.has('conv1.weight'));
  // the first conv's input gradient is never needed, so no ConvTranspose reads the first conv's weight
  assert.ok(!tg.model.graph.nodes.some((n) => n.opType === 'ConvTranspose' && n.inputs[1] === 'conv1.weight'));
});

test('a trainable weight behind an op without a rule is an error naming the op and node', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, ['batch', 4]);
  const w = b.floats('w', [4, 3], Array.from({ length: 12 }, (_, i) => i / 12));
  const y = b.op('Sin', [b.op('MatMul', [x, w])], {}, { name: 'the_sin' });
  b.output(b.op('Identity', [y], {}, { outputs: ['logits'] }));
  await assert.rejects(buildTrainingGraph(b.model(), { loss: { kind: 'cross-entropy' }, sample: { x: new ort.Tensor('float32', new Float32Array(8), [2, 4]) } }), /no gradient rule for op 'Sin' \(node 'the_sin'\)/);
});
