import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { createSession } from '../runtime/session.js';
import { loadTask } from '../data/task.js';
import { encodeNpy } from '../data/npy.js';
import { evaluate, compareCandidates } from './evaluate.js';

const tmp = mkdtempSync(join(tmpdir(), 'ef-eval-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** y = x · w: a linear classifier whose answers are known in advance. */
function linear(inputName: string, inDim: number, w: number[][]) {
  const b = new GraphBuilder('lin');
  const x = b.input(inputName, DataType.FLOAT, ['N', inDim]);
  const k = w[0]!.length;
  b.op('MatMul', [x, b.floats('w', [inDim, k], w.flat())], {}, { outputs: ['logits'] });
  b.output('logits', DataType.FLOAT, ['N', k]);
  return b.model({ opset: 17 });
}

function npyTask(dir: string, x: number[][], labels: number[], classes: string[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'inputs.npy'), encodeNpy(new Float32Array(x.flat()), [x.length, x[0]!.length]));
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(new Int32Array(labels), [labels.length]));
  const path = join(dir, 'task.json');
  writeFileSync(path, JSON.stringify({ name: 'lin', data: { format: 'npy', path: '.' }, preprocess: { kind: 'tensor' }, output: { decode: 'classes', classes }, metric: 'macro-f1' }));
  return path;
}

test('classification: accuracy, macro-F1, recall per class and confusion match the known answers', async () => {
  // identity weights: the prediction is the larger of the two inputs
  const x = [[1, 0], [0, 1], [2, 1], [0, 3], [5, 4], [1, 2], [3, 0], [0, 1], [1, 0], [0, 2]];
  const labels = [0, 1, 0, 1, 1, 0, 0, 1, 0, 1]; // items 4 and 5 are wrong
  const task = await loadTask(npyTask(join(tmp, 'a'), x, labels, ['ok', 'crack']));
  const session = await createSession(linear('feat', 2, [[1, 0], [0, 1]]));
  const r = await evaluate(session, task, { batchSize: 3 });
  assert.equal(r.n, 10);
  assert.equal(r.metrics.accuracy!.value, 0.8);
  // per class: ok tp 4 of 5 (one predicted crack), crack tp 4 of 5 → F1 0.8 each
  assert.ok(Math.abs(r.primary.value - 0.8) < 1e-9 && r.primary.name === 'macro-f1');
  assert.deepEqual(r.confusion!.matrix, [[4, 1], [1, 4]]);
  assert.equal(r.perClass!.crack!.recall.value, 0.8);
  assert.deepEqual(r.perItem, [1, 1, 1, 1, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual(r.examples.map((e) => e.id), ['row 4', 'row 5']);

  // --limit, and agreement with a reference model that flips every answer
  const flipped = await createSession(linear('feat', 2, [[0, 1], [1, 0]]));
  const r2 = await evaluate(session, task, { limit: 4, reference: flipped });
  assert.equal(r2.n, 4);
  assert.equal(r2.metrics['top1-agreement']!.value, 0);
  const r3 = await evaluate(flipped, task);
  const cmp = compareCandidates(r.perItem, r3.perItem, { seed: 1 });
  assert.ok(cmp.diff > 0 && cmp.pBetter > 0.95);
});

test('rank-2 models get flattened images (mnist as [N, 784]); a wrong class count is a clear error', async () => {
  // all-zero weights: every item is predicted class 0, so accuracy = share of zeros (2 in 0..9,0..9)
  const zeros = Array.from({ length: 784 }, () => new Array<number>(10).fill(0));
  const session = await createSession(linear('pixels', 784, zeros));
  const task = await loadTask('mnist', { limit: 20 });
  const r = await evaluate(session, task, { batchSize: 8 });
  assert.equal(r.metrics.accuracy!.value, 0.1);
  assert.ok(r.notes.some((n) => /flattened/.test(n)));
  const three = await createSession(linear('pixels', 784, Array.from({ length: 784 }, () => [0, 0, 0])));
  await assert.rejects(evaluate(three, task), /3 scores per item but the task has 10 classes/);
});

test('embeddings are scored by cosine with a reference model', async () => {
  const dir = join(tmp, 'emb');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'inputs.npy'), encodeNpy(new Float32Array([1, 0, 0, 1, 1, 1]), [3, 2]));
  const path = join(dir, 'task.json');
  writeFileSync(path, JSON.stringify({ name: 'emb', data: { format: 'npy', path: 'inputs.npy' }, preprocess: { kind: 'tensor' }, output: { decode: 'embedding' }, metric: 'cosine' }));
  const task = await loadTask(path);
  const model = await createSession(linear('v', 2, [[1, 0], [0, 1]]));
  // reference drops the second coordinate: cosines 1, 0 and 1/√2
  const ref = await createSession(linear('v', 2, [[1, 0], [0, 0]]));
  const r = await evaluate(model, task, { reference: ref });
  assert.equal(r.primary.name, 'cosine');
  assert.ok(Math.abs(r.primary.value - (1 + 0 + Math.SQRT1_2) / 3) < 1e-6);
  assert.deepEqual(r.perItem.map((v) => Math.round(v * 1000) / 1000), [1, 0, 0.707]);
  await assert.rejects(evaluate(model, task), /reference model/);
});
