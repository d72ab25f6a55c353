import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { createSession } from '../runtime/session.js';
import { bertEncoder } from '../zoo/bert-encoder.js';
import { DataType } from '../onnx/dtype.js';
import { floatIdView, idModel, readsIds } from './id-input-view.js';

const ids = [101, 1996, 2015, 4, 102, 0, 7, 30521];

async function logits(m: Parameters<typeof createSession>[0], feed: ort.Tensor): Promise<Float32Array> {
  const s = await createSession(m);
  const o = await s.run({ input_ids: feed });
  await s.release();
  return o.logits!.data as Float32Array;
}

test('the float-fed view of a token-id model gives the same logits from float ids, and idModel undoes it', async () => {
  const m = bertEncoder({ layers: 1, hidden: 16, heads: 2, seq: 8, vocab: 30522, classes: 3 });
  assert.ok(readsIds(m));
  const view = floatIdView(m);
  assert.equal(readsIds(view), false);
  const t = view.graph.realInputs()[0]!.type;
  assert.equal(t?.kind === 'tensor' ? t.elemType : undefined, DataType.FLOAT);
  const ref = await logits(m, new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, 8]));
  assert.deepEqual(await logits(view, new ort.Tensor('float32', Float32Array.from(ids), [1, 8])), ref);
  const back = idModel(view);
  assert.ok(readsIds(back));
  assert.equal(back.graph.nodes.length, m.graph.nodes.length);
  assert.deepEqual(await logits(back, new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, 8])), ref);
});

test('a shorter input reads the first position rows (the Shape → Gather → Slice chain)', async () => {
  const m = bertEncoder({ layers: 1, hidden: 16, heads: 2, seq: 8, vocab: 100, classes: 2 });
  const out = await logits(m, new ort.Tensor('int64', BigInt64Array.from([5, 6, 7], BigInt), [1, 3]));
  assert.equal(out.length, 2);
  assert.ok(out.every(Number.isFinite));
});

test('a text task trains a token-id model through its view: id rows padded to maxLength, the loss falls, idModel reads int64', async () => {
  const { loadTask } = await import('../data/task.js');
  const { taskDataset } = await import('./dataset.js');
  const { trainModel } = await import('./loop.js');
  const task = await loadTask('notes', { seed: 2, limit: 160 });
  const train = await taskDataset(task, 'train');
  assert.deepEqual(train.sampleShape, [32]);
  assert.equal(train.x[0], 101); // [CLS]
  const firstRow = Array.from(train.x.subarray(0, 32));
  const sep = firstRow.indexOf(102);
  assert.ok(sep > 1 && firstRow.slice(sep + 1).every((v) => v === 0), 'padded with [PAD] after [SEP]');
  const m = bertEncoder({ layers: 1, hidden: 16, heads: 2, seq: 32, vocab: 30522, classes: 5, intermediate: 32 });
  const r = await trainModel({ model: floatIdView(m), train, epochs: 3, batchSize: 16, optimizer: { kind: 'adamw', lr: 3e-3 }, seed: 1 });
  assert.ok(r.history.at(-1)!.trainLoss < r.history[0]!.trainLoss, `loss ${r.history.map((h) => h.trainLoss.toFixed(3))}`);
  const back = idModel(r.model);
  assert.ok(readsIds(back));
  const out = await logits(back, new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, 8]));
  assert.equal(out.length, 5);
});
