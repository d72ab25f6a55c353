// LoRA adapters: zero B (and rank 0) leave the base model's outputs unchanged, a merged export equals
// the unmerged graph, only the adapters train, and a pattern that matches nothing is refused.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import { attr } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { bertEncoder, mlp, mobilenetV3, randomFeeds, torchResnet } from '../zoo/index.js';
import { mnistSplits } from './dataset.js';
import { addLora, loraCounts, mergeLora } from './lora.js';
import { trainModel } from './loop.js';
import { buildMlp } from './models.js';
import { Rng } from './rng.js';

const CASES: { name: string; build: () => Model; shape: number[] }[] = [
  { name: 'MatMul MLP', build: () => mlp({ sizes: [16, 32, 5] }), shape: [3, 16] },
  { name: 'Gemm MLP', build: () => mlp({ sizes: [16, 24, 5], gemm: true }), shape: [3, 16] },
  { name: 'MobileNetV3 1×1 convs', build: () => mobilenetV3({ imageSize: 32 }), shape: [2, 3, 32, 32] },
  {
    name: 'Gemm MLP with alpha 0.5',
    build: () => {
      const m = mlp({ sizes: [16, 24, 5], gemm: true });
      for (const n of m.graph.nodes) if (n.opType === 'Gemm') n.attributes.set('alpha', attr.float(0.5));
      return m;
    },
    shape: [3, 16],
  },
  // torch.onnx's Linear (Gemm transB=1) and strided 1×1 downsample convs
  { name: 'torch ResNet', build: () => torchResnet({ imageSize: 32, widths: [8, 16], blocksPerStage: 1 }), shape: [2, 3, 32, 32] },
  // MatMul on [batch, seq, hidden] activations
  { name: 'BERT encoder', build: () => bertEncoder({ layers: 1, hidden: 16, heads: 2, seq: 6 }), shape: [2, 6, 16] },
];

async function outputs(m: Model, shape: number[]): Promise<Float32Array> {
  const s = await createSession(m, { graphOptimizationLevel: 'disabled' });
  const x = randomFeeds({ x: shape }, 9).x!;
  const r = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.data, x.dims) });
  await s.release();
  return r[s.outputNames[0]!]!.data as Float32Array;
}

for (const c of CASES)
  test(`LoRA on ${c.name}: zero B and rank 0 give the base outputs; merged export equals the unmerged graph`, async () => {
    const base = c.build();
    const want = await outputs(base, c.shape);
    const lora = addLora(base, { rank: 4, alpha: 8 });
    assert.ok(lora.adapters.length > 0);
    assert.deepEqual(await outputs(lora.model, c.shape), want, 'zero-initialised B: the base model');
    assert.deepEqual(await outputs(addLora(base, { rank: 0 }).model, c.shape), want, 'rank 0: the base model');
    // random B: the adapters now change the outputs, and merging them reproduces the adapted graph
    const rng = new Rng(4);
    for (const a of lora.adapters) {
      const t = lora.model.graph.initializers.get(a.b)!;
      lora.model.graph.initializers.set(
        a.b,
        Tensor.fromFloat32(
          a.b,
          t.dims,
          Float32Array.from({ length: t.size }, () => rng.normal() * 0.1),
        ),
      );
    }
    const adapted = await outputs(lora.model, c.shape);
    const merged = mergeLora(base, lora.model, lora.adapters);
    assert.equal(merged.graph.nodes.length, base.graph.nodes.length, 'the export has no adapter nodes');
    const got = await outputs(merged, c.shape);
    let diff = 0;
    let changed = 0;
    for (let i = 0; i < got.length; i++) {
      diff = Math.max(diff, Math.abs(got[i]! - adapted[i]!));
      changed = Math.max(changed, Math.abs(adapted[i]! - want[i]!));
    }
    assert.ok(changed > 1e-3, 'the adapters change the outputs');
    assert.ok(diff <= 1e-4 * (1 + changed), `merged vs unmerged: max |Δ| ${diff}`);
  });

test('a LoRA pattern that matches no weight is a usage error', () => {
  assert.throws(
    () => addLora(mlp({ sizes: [8, 4] }), { rank: 2, pattern: 'nothing_like_this' }),
    (e: unknown) => e instanceof UsageError && /matches no MatMul, Gemm or 1×1 Conv weight/.test(e.message),
  );
});

test('training with LoRA changes only the adapters, and they learn', async () => {
  const splits = mnistSplits({ limit: 600 });
  const base = buildMlp([784, 32, 10], 1);
  const lora = addLora(base, { rank: 4, seed: 2 });
  const r = await trainModel({
    model: lora.model,
    train: splits.train,
    epochs: 3,
    batchSize: 32,
    trainable: { names: lora.trainable },
    optimizer: { lr: 3e-3 },
  });
  assert.deepEqual(
    r.trained.map((t) => t.name),
    lora.trainable,
  );
  for (const [name, t] of base.graph.initializers) assert.deepEqual(r.model.graph.initializers.get(name)!.toFloat32(), t.toFloat32(), `${name} is frozen`);
  assert.ok(r.history[2]!.trainAccuracy > r.history[0]!.trainAccuracy, JSON.stringify(r.history.map((h) => h.trainAccuracy)));
  assert.equal(loraCounts(lora.adapters).trainable, (784 + 32) * 4 + (32 + 10) * 4);
});
