// Adapter files: a LoRA fine-tune saved as adapters + head rebuilds, from the shared base, the model
// finetune exported (same outputs); another base, a model given as an adapter, a damaged file and a
// base without the cut tensor are refused with a message that says what to do.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { writeModel } from '../onnx/write-model.js';
import { createSession } from '../runtime/session.js';
import { mobilenetV3 } from '../zoo/index.js';
import { mnistSplits, subset } from './dataset.js';
import { finetune } from './finetune.js';
import { adapterContent, applyAdapter, loadWithAdapter, readAdapter, writeAdapter } from './lora-adapter.js';
import { buildMlp } from './models.js';

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
