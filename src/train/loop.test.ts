// The loop on a few hundred MNIST digits and tiny nets: it learns, the same seed gives the same weights,
// the TypeScript and in-graph updates agree, checkpoints resume to the same weights, early stopping stops.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, existsSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistSplits, reshapeSamples, subset } from './dataset.js';
import * as ort from 'onnxruntime-node';
import { createSession } from '../runtime/session.js';
import { evaluateArrays, trainModel, validationFill } from './loop.js';
import { buildTrainingGraph } from './training-graph.js';
import { buildArch, buildCnn, buildMlp } from './models.js';
import { EdgefitError, UsageError } from '../onnx/errors.js';

const data = mnistSplits();
const train = subset(data.train, 0, 400);
const val = subset(data.val, 0, 200);
const weights = (m: { graph: { initializers: Map<string, { data: Uint8Array }> } }) =>
  [...m.graph.initializers.values()].map((t) => Buffer.from(t.data).toString('base64')).join();

test('an MLP learns MNIST digits well above chance in two epochs', async () => {
  const r = await trainModel({ model: buildMlp([784, 32, 10], 0), train, val, epochs: 2, batchSize: 32, optimizer: { kind: 'adamw', lr: 3e-3 } });
  assert.equal(r.history.length, 2);
  assert.ok(r.history[1]!.trainLoss < r.history[0]!.trainLoss, 'loss goes down');
  assert.ok(r.history[1]!.valAccuracy! > 0.6, `val accuracy ${r.history[1]!.valAccuracy}`);
  assert.deepEqual(r.trained.map((t) => t.name).sort(), ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight']);
});

test('the same seed gives the same weights; another seed does not', async () => {
  const run = (seed: number) => trainModel({ model: buildMlp([784, 16, 10], 0), train, epochs: 1, batchSize: 50, seed });
  const [a, b, c] = [await run(7), await run(7), await run(8)];
  assert.equal(weights(a.model), weights(b.model));
  assert.notEqual(weights(a.model), weights(c.model));
});

for (const kind of ['sgd', 'adamw'] as const)
  test(`${kind}: the update in TypeScript and in the graph agree (clipping, warm-up, cosine)`, async () => {
    const optimizer = { kind, lr: kind === 'sgd' ? 0.05 : 2e-3, clipNorm: 1, warmupSteps: 3, cosine: true, weightDecay: 0.01 };
    const run = (update: 'ts' | 'graph') => trainModel({ model: buildMlp([784, 16, 10], 1), train, epochs: 2, batchSize: 40, optimizer, update });
    const [t, g] = [await run('ts'), await run('graph')];
    for (let e = 0; e < 2; e++)
      assert.ok(Math.abs(t.history[e]!.trainLoss - g.history[e]!.trainLoss) < 1e-4, `epoch ${e}: ${t.history[e]!.trainLoss} vs ${g.history[e]!.trainLoss}`);
  });

test('a checkpoint resumes to the same weights as an uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-train-'));
  try {
    const ck = join(dir, 'ck.onnx');
    const common = { train, val, batchSize: 50, seed: 3, optimizer: { kind: 'adamw' as const, lr: 2e-3 } };
    const whole = await trainModel({ ...common, model: buildMlp([784, 16, 10], 2), epochs: 2 });
    await trainModel({ ...common, model: buildMlp([784, 16, 10], 2), epochs: 1, checkpoint: ck });
    assert.ok(existsSync(ck) && existsSync(ck + '.optim'));
    const resumed = await trainModel({ ...common, model: buildMlp([784, 16, 10], 2), epochs: 2, resume: ck });
    assert.equal(resumed.history.length, 2);
    assert.ok(Math.abs(resumed.history[1]!.trainLoss - whole.history[1]!.trainLoss) < 1e-6);
    // the best epoch's weights are returned by both
    assert.equal(weights(resumed.model), weights(whole.model));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('early stopping ends the run when validation accuracy stops improving', async () => {
  const r = await trainModel({
    model: buildMlp([784, 8, 10], 0),
    train,
    val,
    epochs: 6,
    batchSize: 50,
    patience: 1,
    optimizer: { kind: 'sgd', lr: 1e-12, momentum: 0 },
  });
  assert.ok(r.stoppedEarly);
  assert.equal(r.history.length, 2);
  assert.equal(r.bestEpoch, 1);
});

test('a small CNN (Conv, MaxPool, GlobalAveragePool) trains; only the head when asked', async () => {
  const cnnTrain = reshapeSamples(subset(data.train, 0, 200), [1, 28, 28]);
  const model = buildCnn('cnn:1x28x28-c4-p-c8-g-10', 0);
  const r = await trainModel({ model, train: cnnTrain, epochs: 1, batchSize: 50, trainable: { pattern: '^fc' }, optimizer: { kind: 'adamw', lr: 1e-2 } });
  assert.deepEqual(r.trained.map((t) => t.name).sort(), ['fc5.bias', 'fc5.weight']);
  assert.equal(r.frozen, 4);
  const conv = (m: typeof model) => Buffer.from(m.graph.initializers.get('conv1.weight')!.data).toString('base64');
  assert.equal(conv(r.model), conv(model), 'frozen weights are unchanged');
  const all = await trainModel({ model, train: cnnTrain, epochs: 1, batchSize: 50 });
  assert.equal(all.trained.length, 6);
  assert.notEqual(conv(all.model), conv(model));
});

/** Conv → BatchNormalization → Relu → pool → MatMul head, on 1×28×28 digits. */
async function bnModel() {
  const { GraphBuilder } = await import('../onnx/builder.js');
  const { DataType } = await import('../onnx/dtype.js');
  const { Tensor } = await import('../onnx/tensor.js');
  const b = new GraphBuilder('bn');
  const x = b.input('x', DataType.FLOAT, ['batch', 1, 28, 28]);
  const w = b.constant(
    'conv.weight',
    Tensor.fromFloat32(
      'w',
      [4, 1, 3, 3],
      Float32Array.from({ length: 36 }, (_, i) => Math.sin(i + 1) * 0.5),
    ),
  );
  const conv = b.op('Conv', [x, w], { strides: [2, 2] });
  const bn = b.op('BatchNormalization', [
    conv,
    b.floats('bn.scale', [4], [1, 1, 1, 1]),
    b.floats('bn.bias', [4], [0, 0, 0, 0]),
    b.floats('bn.mean', [4], [0, 0, 0, 0]),
    b.floats('bn.var', [4], [1, 1, 1, 1]),
  ]);
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('Relu', [bn])])], { axis: 1 });
  const logits = b.op(
    'Add',
    [
      b.op('MatMul', [
        pooled,
        b.floats(
          'fc.weight',
          [4, 10],
          Array.from({ length: 40 }, (_, i) => Math.cos(i) * 0.3),
        ),
      ]),
      b.floats('fc.bias', [10], new Array(10).fill(0)),
    ],
    {},
    { outputs: ['logits'] },
  );
  b.output(logits);
  return b.model();
}

test("BatchNormalization in 'batch' mode trains on batch statistics and updates the running ones", async () => {
  const model = await bnModel();
  const r = await trainModel({ model, train: reshapeSamples(train, [1, 28, 28]), epochs: 1, batchSize: 50, batchNorm: 'batch' });
  assert.deepEqual(r.trained.map((t) => t.name).sort(), ['bn.bias', 'bn.scale', 'conv.weight', 'fc.bias', 'fc.weight']);
  const mean = r.model.graph.initializers.get('bn.mean')!.toFloat32();
  assert.ok(
    mean.some((v) => Math.abs(v) > 1e-3),
    'running mean moved toward the batch means',
  );
});

test('a CNN with Dropout trains with seeded masks: same seed, same weights; dropout off differs', async () => {
  const [tr, va] = [reshapeSamples(subset(train, 0, 120), [1, 28, 28]), reshapeSamples(subset(val, 0, 40), [1, 28, 28])];
  const run = (seed: number, dropout?: 'off') =>
    trainModel({ model: buildCnn('cnn:1x28x28-c4-p-f16-d0.5-10', 0), train: tr, val: va, epochs: 1, batchSize: 40, seed, dropout });
  const [a, b, off] = [await run(3), await run(3), await run(3, 'off')];
  assert.equal(weights(a.model), weights(b.model));
  assert.notEqual(weights(a.model), weights(off.model));
  // the trained model keeps its Dropout node (identity at inference)
  assert.ok(a.model.graph.nodes.some((n) => n.opType === 'Dropout'));
  assert.ok(Number.isFinite(a.history[0]!.valLoss!));
});

test('validation in the training session (dropout masks of ones, only the output fetched) scores what inference scores', async () => {
  const [tr, va] = [reshapeSamples(subset(train, 0, 120), [1, 28, 28]), reshapeSamples(subset(val, 0, 60), [1, 28, 28])];
  // the conv frozen (validation shares the training session only when some weights are), Dropout after it
  const r = await trainModel({
    model: buildCnn('cnn:1x28x28-c4-p-f16-d0.5-10', 0),
    train: tr,
    val: va,
    epochs: 1,
    batchSize: 40,
    seed: 5,
    trainable: { pattern: '^fc' },
  });
  assert.deepEqual(r.trained.map((t) => t.name).sort(), ['fc3.bias', 'fc3.weight', 'fc5.bias', 'fc5.weight']);
  // one epoch: the returned weights are the ones validated; score them in a plain inference session
  const s = await createSession(r.model);
  const ev = await evaluateArrays(s, s.inputNames[0]!, s.outputNames[0]!, va);
  await s.release();
  assert.ok(Math.abs(ev.loss - r.history[0]!.valLoss!) < 1e-5, `inference ${ev.loss}, training session ${r.history[0]!.valLoss}`);
  assert.equal(ev.accuracy, r.history[0]!.valAccuracy);
});

test('validation shares the training session only when its forward pass is inference', async () => {
  const x = new ort.Tensor('float32', new Float32Array(2 * 784), [2, 784]);
  const all = await buildTrainingGraph(buildMlp([784, 8, 10], 0), { loss: { kind: 'cross-entropy' }, sample: { x } });
  assert.equal(validationFill(all, { kind: 'cross-entropy' }, 10), undefined, 'nothing frozen: nothing held twice');
  const head = await buildTrainingGraph(buildMlp([784, 8, 10], 0), {
    loss: { kind: 'cross-entropy' },
    sample: { x },
    trainable: { names: ['fc2.weight', 'fc2.bias'] },
  });
  const fill = validationFill(head, { kind: 'cross-entropy' }, 10)!;
  assert.deepEqual(Object.keys(fill(3)).sort(), ['loss.sample_weight', 'loss.target']);
  assert.deepEqual(fill(3)['loss.target']!.dims, [3, 10]);
  const inGraph = await buildTrainingGraph(buildMlp([784, 8, 10], 0), { loss: { kind: 'cross-entropy' }, sample: { x }, optimizer: { kind: 'sgd', lr: 0.1 } });
  assert.equal(validationFill(inGraph, { kind: 'cross-entropy' }, 10), undefined, 'an in-graph update needs its state fed');
  const bn = await buildTrainingGraph(await bnModel(), {
    loss: { kind: 'cross-entropy' },
    sample: { x: new ort.Tensor('float32', new Float32Array(2 * 784), [2, 1, 28, 28]) },
    batchNorm: 'batch',
  });
  assert.ok(bn.batchStats.length > 0);
  assert.equal(validationFill(bn, { kind: 'cross-entropy' }, 10), undefined, 'batch statistics are not inference');
});

test('a batch size larger than the training set is one batch of all of it, not a crash', async () => {
  const small = subset(train, 0, 30);
  const r = await trainModel({ model: buildMlp([784, 8, 10], 0), train: small, epochs: 2, batchSize: 2 ** 31 - 1 });
  assert.equal(r.steps, 2);
});

test('bad loop options are usage errors: patience 0, negative warm-up', async () => {
  const small = subset(train, 0, 30);
  await assert.rejects(
    trainModel({ model: buildMlp([784, 8, 10], 0), train: small, val, epochs: 2, patience: 0 }),
    (e) => e instanceof UsageError && /patience/.test(e.message),
  );
  await assert.rejects(
    trainModel({ model: buildMlp([784, 8, 10], 0), train: small, epochs: 1, optimizer: { kind: 'adamw', lr: 1e-3, warmupSteps: -1 } }),
    (e) => e instanceof UsageError && /warm-up/.test(e.message),
  );
});

test('resume refuses a damaged or mismatched checkpoint with an error, not a crash', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-train-'));
  try {
    const ck = join(dir, 'ck.onnx');
    const small = subset(train, 0, 60);
    const common = { train: small, batchSize: 20 };
    await trainModel({ ...common, model: buildMlp([784, 8, 10], 0), epochs: 1, checkpoint: ck });
    const good = readFileSync(ck + '.optim');
    // another model than the checkpoint's
    await assert.rejects(
      trainModel({ ...common, model: buildMlp([784, 12, 10], 0), epochs: 2, resume: ck }),
      (e) => e instanceof UsageError && /another model/.test(e.message),
    );
    // a truncated optimizer side file
    writeFileSync(ck + '.optim', good.subarray(0, 200));
    await assert.rejects(
      trainModel({ ...common, model: buildMlp([784, 8, 10], 0), epochs: 2, resume: ck }),
      (e) => e instanceof EdgefitError && /truncated/.test(e.message),
    );
    writeFileSync(ck + '.optim', good.subarray(0, 5));
    await assert.rejects(
      trainModel({ ...common, model: buildMlp([784, 8, 10], 0), epochs: 2, resume: ck }),
      (e) => e instanceof EdgefitError && /optim/.test(e.message),
    );
    // a side file of another step (a run killed between writing the two files)
    copyFileSync(ck, join(dir, 'ep1.onnx'));
    writeFileSync(ck + '.optim', good);
    await trainModel({ ...common, model: buildMlp([784, 8, 10], 0), epochs: 2, resume: ck, checkpoint: join(dir, 'ep2.onnx') });
    copyFileSync(join(dir, 'ep2.onnx.optim'), join(dir, 'ep1.onnx.optim'));
    await assert.rejects(
      trainModel({ ...common, model: buildMlp([784, 8, 10], 0), epochs: 3, resume: join(dir, 'ep1.onnx') }),
      (e) => e instanceof EdgefitError && /step/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('architecture specs that cannot build are usage errors that say why', () => {
  for (const [arch, why] of [
    ['cnn:1x28x28-p-p-p-p-p-p-10', /too small to halve/],
    ['cnn:1x28x28-c0-10', /no units/],
    ['mlp:784-99999999-10', /small models/],
    ['mlp:784-x-10', /positive layer sizes/],
  ] as const)
    assert.throws(
      () => buildArch(arch),
      (e) => e instanceof UsageError && why.test(e.message),
      arch,
    );
});
