// Adapter files: a LoRA fine-tune saved as adapters + head rebuilds, from the shared base, the model
// finetune exported (same outputs); another base, a model given as an adapter, a damaged file and a
// base without the cut tensor are refused with a message that says what to do. A whole-model adapter
// (CTC fine-tuning: no head) rebuilds the merged model from a Paddle-style base.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { initializersToConstants } from '../onnx/constants.js';
import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { trainableForm } from '../onnx/trainable-form.js';
import { writeModel } from '../onnx/write-model.js';
import { createSession } from '../runtime/session.js';
import { mobilenetV3 } from '../zoo/index.js';
import { mnistSplits, subset } from './dataset.js';
import { finetune } from './finetune.js';
import { addLora, mergeLora } from './lora.js';
import { adapterContent, applyAdapter, loadWithAdapter, readAdapter, wholeModelAdapterContent, writeAdapter } from './lora-adapter.js';
import { buildMlp } from './models.js';
import { Rng } from './rng.js';

const mnist = mnistSplits();
const train = subset(mnist.train, 0, 200);
const val = subset(mnist.val, 0, 100);

async function logits(m: Model): Promise<Float32Array> {
  const s = await createSession(m);
  const out = await s.run({ x: new ort.Tensor('float32', val.x.slice(0, 8 * 784), [8, 784]) });
  await s.release();
  return out.logits!.data as Float32Array;
}

const refused = (f: () => unknown, re: RegExp) =>
  assert.throws(f, (e: unknown) => e instanceof UsageError && re.test(`${e.message} ${e.hint ?? ''}`), String(re));

test('an adapter file rebuilds the LoRA fine-tuned model from its base; other inputs are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-adapter-'));
  try {
    const base = buildMlp([784, 48, 32, 10], 3);
    const r = await finetune({
      model: base,
      train,
      val,
      epochs: 3,
      batchSize: 40,
      seed: 1,
      lora: { rank: 4 },
      unfreezeEpochs: 3,
      unfreezeLr: 1e-2,
      optimizer: { kind: 'adamw', lr: 1e-2 },
    });
    assert.equal(r.unfrozenKept, true, 'this seed keeps the LoRA phase, so the adapters are in the file');
    const [basePath, adapterPath] = [join(dir, 'base.onnx'), join(dir, 'line3.adapter.onnx')];
    writeModel(base, basePath);
    writeAdapter(adapterPath, adapterContent(base, r));
    const a = readAdapter(adapterPath);
    assert.ok(a.adapters.length > 0);
    assert.deepEqual(await logits(loadWithAdapter(basePath, adapterPath)), await logits(r.model), 'the same outputs as the exported model');

    // refused: another base, a model passed as the adapter, a base without the cut tensor, a damaged file
    refused(() => applyAdapter(buildMlp([784, 48, 32, 10], 4), a), /trained on another base model.*apply it to the model that was fine-tuned/);
    refused(() => readAdapter(basePath), /is not an edgefit LoRA adapter.*it is a model/);
    refused(() => applyAdapter(mobilenetV3({ imageSize: 32 }), a), new RegExp(`reads tensor '${a.feature}', which this model lacks`));
    const bad = a.tensors.map((t) => (t.name === 'head.bias' ? Tensor.fromFloat32(t.name, t.dims, new Float32Array(t.size).fill(Number.NaN)) : t));
    writeAdapter(join(dir, 'bad.onnx'), { ...a, tensors: bad });
    refused(() => readAdapter(join(dir, 'bad.onnx')), /'head.bias' holds NaN/);
    writeAdapter(join(dir, 'short.onnx'), { ...a, tensors: a.tensors.filter((t) => t.name !== a.adapters[0]!.b) });
    refused(() => readAdapter(join(dir, 'short.onnx')), /lacks the tensor/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a whole-model adapter (no head) rebuilds the merged model from a Paddle-style base: Constant-node weights, opset 11', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-adapter-'));
  try {
    // the base as Paddle2ONNX writes it: weights in Constant nodes, an old opset
    const base = buildMlp([784, 48, 10], 5);
    initializersToConstants(base);
    base.setOpset('', 11);
    assert.equal(base.graph.initializers.size, 0);
    const prepared = trainableForm(base);
    const lora = addLora(prepared, { rank: 3, seed: 2 });
    // stands in for training: B away from zero, so the merge changes the outputs
    const rng = new Rng(9);
    for (const ad of lora.adapters) {
      const b = lora.model.graph.initializers.get(ad.b)!;
      lora.model.graph.initializers.set(
        ad.b,
        Tensor.fromFloat32(
          ad.b,
          b.dims,
          Float32Array.from({ length: b.size }, () => 0.05 * rng.normal()),
        ),
      );
    }
    const merged = mergeLora(prepared, lora.model, lora.adapters);
    const [basePath, adapterPath] = [join(dir, 'base.onnx'), join(dir, 'rec-line2.adapter.onnx')];
    writeModel(base, basePath);
    writeAdapter(adapterPath, wholeModelAdapterContent(base, lora.model, lora.adapters));
    const a = readAdapter(adapterPath);
    assert.equal(a.feature, undefined, 'no head');
    assert.equal(a.tensors.length, 2 * lora.adapters.length, 'A and B of each adapter, nothing else');
    const applied = loadWithAdapter(basePath, adapterPath);
    assert.deepEqual(await logits(applied), await logits(merged), 'the merged model, bit for bit');
    assert.notDeepEqual(await logits(applied), await logits(base), 'the adapters change the outputs');

    const other = buildMlp([784, 48, 10], 6);
    refused(() => applyAdapter(other, a), /trained on another base model: its weights differ.*apply it to the model that was fine-tuned/);
    writeAdapter(join(dir, 'short.onnx'), { ...a, tensors: a.tensors.slice(1) });
    refused(() => readAdapter(join(dir, 'short.onnx')), /lacks the tensor/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
