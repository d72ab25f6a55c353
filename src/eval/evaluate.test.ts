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
  writeFileSync(
    path,
    JSON.stringify({
      name: 'lin',
      data: { format: 'npy', path: '.' },
      preprocess: { kind: 'tensor' },
      output: { decode: 'classes', classes },
      metric: 'macro-f1',
    }),
  );
  return path;
}

test('classification: accuracy, macro-F1, recall per class and confusion match the known answers', async () => {
  // identity weights: the prediction is the larger of the two inputs
  const x = [
    [1, 0],
    [0, 1],
    [2, 1],
    [0, 3],
    [5, 4],
    [1, 2],
    [3, 0],
    [0, 1],
    [1, 0],
    [0, 2],
  ];
  const labels = [0, 1, 0, 1, 1, 0, 0, 1, 0, 1]; // items 4 and 5 are wrong
  const task = await loadTask(npyTask(join(tmp, 'a'), x, labels, ['ok', 'crack']));
  const session = await createSession(
    linear('feat', 2, [
      [1, 0],
      [0, 1],
    ]),
  );
  const r = await evaluate(session, task, { batchSize: 3 });
  assert.equal(r.n, 10);
  assert.equal(r.metrics.accuracy!.value, 0.8);
  // per class: ok tp 4 of 5 (one predicted crack), crack tp 4 of 5 → F1 0.8 each
  assert.ok(Math.abs(r.primary.value - 0.8) < 1e-9 && r.primary.name === 'macro-f1');
  assert.deepEqual(r.confusion!.matrix, [
    [4, 1],
    [1, 4],
  ]);
  assert.equal(r.perClass!.crack!.recall.value, 0.8);
  assert.deepEqual(r.perItem, [1, 1, 1, 1, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual(
    r.examples.map((e) => e.id),
    ['row 4', 'row 5'],
  );

  // --limit, and agreement with a reference model that flips every answer
  const flipped = await createSession(
    linear('feat', 2, [
      [0, 1],
      [1, 0],
    ]),
  );
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
  const three = await createSession(
    linear(
      'pixels',
      784,
      Array.from({ length: 784 }, () => [0, 0, 0]),
    ),
  );
  await assert.rejects(evaluate(three, task), /3 scores per item but the task has 10 classes/);
});

test('embeddings are scored by cosine with a reference model', async () => {
  const dir = join(tmp, 'emb');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'inputs.npy'), encodeNpy(new Float32Array([1, 0, 0, 1, 1, 1]), [3, 2]));
  const path = join(dir, 'task.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 'emb',
      data: { format: 'npy', path: 'inputs.npy' },
      preprocess: { kind: 'tensor' },
      output: { decode: 'embedding' },
      metric: 'cosine',
    }),
  );
  const task = await loadTask(path);
  const model = await createSession(
    linear('v', 2, [
      [1, 0],
      [0, 1],
    ]),
  );
  // reference drops the second coordinate: cosines 1, 0 and 1/√2
  const ref = await createSession(
    linear('v', 2, [
      [1, 0],
      [0, 0],
    ]),
  );
  const r = await evaluate(model, task, { reference: ref });
  assert.equal(r.primary.name, 'cosine');
  assert.ok(Math.abs(r.primary.value - (1 + 0 + Math.SQRT1_2) / 3) < 1e-6);
  assert.deepEqual(
    r.perItem.map((v) => Math.round(v * 1000) / 1000),
    [1, 0, Math.round(Math.SQRT1_2 * 1000) / 1000],
  );
  await assert.rejects(evaluate(model, task), /reference model/);
});

test('bad inputs to evaluate are clear errors: 2-D labels.npy, --option on a data task, batch size 0, a task whose images do not fit the model', async () => {
  const { EdgefitError, UsageError } = await import('../onnx/errors.js');
  const { DataError } = await import('../data/errors.js');
  const dir = join(tmp, 'bad');
  const path = npyTask(
    dir,
    [
      [1, 0],
      [0, 1],
    ],
    [0, 1],
    ['ok', 'crack'],
  );
  const session = await createSession(
    linear('feat', 2, [
      [1, 0],
      [0, 1],
    ]),
  );
  await assert.rejects(evaluate(session, await loadTask(path), { batchSize: 0 }), (e) => e instanceof UsageError && /batch size/.test(e.message));
  await assert.rejects(loadTask(path, { options: { defectRate: 0.1 } }), (e) => e instanceof UsageError && /generator options/.test(e.message));
  // labels of shape [N, 2]: the first column would be read silently as the class
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(new Int32Array([0, 1, 1, 1]), [2, 2]));
  await assert.rejects(loadTask(path), (e) => e instanceof DataError && /one class index per row/.test(e.message));
  // mnist is gray 28×28 = 784 values; a model taking 2 values is refused before any batch runs
  await assert.rejects(
    evaluate(session, await loadTask('mnist', { limit: 2 })),
    (e) => e instanceof EdgefitError && /takes \[N, 2\] but the task's preprocessing gives \[N, 784\]/.test(e.message),
  );
});

test('a CTC dictionary resolves against the spec file, and a folder given as the dictionary is an error', async () => {
  const { DataError } = await import('../data/errors.js');
  const dir = join(tmp, 'ctc');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'chars.txt'), 'a\nb\n');
  // a 4×2 grey image is the logits of 2 steps × 4 classes (blank, a, b, space), flattened: 'a', then 'b'
  const { createCanvas } = await import('@napi-rs/canvas');
  const c = createCanvas(4, 2);
  const ctx = c.getContext('2d');
  ctx.fillStyle = 'black';
  ctx.fillRect(0, 0, 4, 2);
  ctx.fillStyle = 'white';
  ctx.fillRect(1, 0, 1, 1);
  ctx.fillRect(2, 1, 1, 1);
  writeFileSync(join(dir, 'ab.png'), await c.encode('png'));
  writeFileSync(join(dir, 'labels.jsonl'), JSON.stringify({ file: 'ab.png', text: 'ab' }) + '\n');
  const b = new GraphBuilder('ctc');
  const x = b.input('x', DataType.FLOAT, ['N', 8]);
  b.op('Reshape', [x, b.int64s('shape', [-1, 2, 4])], {}, { outputs: ['y'] });
  b.output('y', DataType.FLOAT, ['N', 2, 4]);
  const session = await createSession(b.model({ opset: 17 }));
  const write = (dictionary: string) => {
    writeFileSync(
      join(dir, 'task.json'),
      JSON.stringify({
        name: 'ctc',
        data: { format: 'image-folder', path: '.' },
        preprocess: { kind: 'image', height: 2, width: 4, channels: 'gray' },
        output: { decode: 'ctc', dictionary },
        metric: 'cer',
      }),
    );
    return join(dir, 'task.json');
  };
  const r = await evaluate(session, await loadTask(write('chars.txt')));
  assert.equal(r.n, 1);
  assert.equal(r.primary.value, 0, 'decoded "ab" exactly');
  await assert.rejects(
    async () => evaluate(session, await loadTask(write('.'))),
    (e) => e instanceof DataError && /not a file/.test(e.message),
  );
});
