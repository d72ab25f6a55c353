import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { loadTask, calibrationFeeds, type Batch } from './task.js';
import { DataError, TaskSpecError } from './errors.js';
import { UsageError } from '../onnx/errors.js';
import { encodeNpy } from './npy.js';
import { splitOf } from './rng.js';

const tmp = mkdtempSync(join(tmpdir(), 'ef-data-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** A w×h PNG filled with one grey level. */
async function png(path: string, grey: number, w = 12, h = 8): Promise<void> {
  const c = createCanvas(w, h);
  const ctx = c.getContext('2d');
  ctx.fillStyle = `rgb(${grey},${grey},${grey})`;
  ctx.fillRect(0, 0, w, h);
  writeFileSync(path, await c.encode('png'));
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

function spec(dir: string, extra: Record<string, unknown> = {}): string {
  const path = join(dir, 'task.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 'greys',
      input: 'img',
      data: { format: 'image-folder', path: '.' },
      preprocess: { kind: 'image', height: 4, width: 6, resize: 'stretch', channels: 'gray', mean: [0.5], std: [0.5] },
      output: { decode: 'classes', classes: ['dark', 'light'] },
      metric: 'accuracy',
      ...extra,
    }),
  );
  return path;
}

test('class-folder images: decoded, resized, normalised, batched with labels', async () => {
  const dir = join(tmp, 'folders');
  mkdirSync(join(dir, 'dark'), { recursive: true });
  mkdirSync(join(dir, 'light'), { recursive: true });
  await png(join(dir, 'dark', 'a.png'), 0);
  await png(join(dir, 'light', 'b.png'), 255);
  await png(join(dir, 'light', 'c.png'), 255);
  const task = await loadTask(spec(dir));
  assert.equal(task.size, 3);
  const batches = await collect(task.batches({ batchSize: 2 }));
  assert.deepEqual(
    batches.map((b) => b.ids),
    [['dark/a.png', 'light/b.png'], ['light/c.png']],
  );
  assert.deepEqual(
    batches.flatMap((b) => b.labels),
    [0, 1, 1],
  );
  const x = batches[0]!.feeds.img!;
  assert.deepEqual(x.dims, [2, 1, 4, 6]);
  const d = x.data as Float32Array;
  assert.equal(d[0], -1); // black: (0 - 0.5) / 0.5
  assert.ok(Math.abs(d[24]! - 1) < 1e-6); // white: (1 - 0.5) / 0.5
});

test('keep-aspect resize right-pads to the batch width; NHWC and BGR order', async () => {
  const dir = join(tmp, 'aspect');
  mkdirSync(dir, { recursive: true });
  const c = createCanvas(20, 10);
  const ctx = c.getContext('2d');
  ctx.fillStyle = 'rgb(255,0,0)';
  ctx.fillRect(0, 0, 20, 10);
  writeFileSync(join(dir, 'red.png'), await c.encode('png'));
  await png(join(dir, 'wide.png'), 128, 40, 10);
  writeFileSync(join(dir, 'labels.jsonl'), '{"file":"red.png","text":"R"}\n{"file":"wide.png","text":"W"}\n');
  const path = join(dir, 'task.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 'ocr',
      input: 'x',
      data: { format: 'image-folder', path: '.' },
      preprocess: {
        kind: 'image',
        height: 5,
        width: 8,
        resize: 'keep-aspect',
        pad: 'batch-max',
        padValue: -9,
        channels: 'BGR',
        layout: 'NHWC',
        scale: 1,
        mean: [0],
        std: [1],
      },
      output: { decode: 'ctc', dictionary: 'ppocr_keys_v1' },
      metric: 'cer',
    }),
  );
  const [b] = await collect((await loadTask(path)).batches({ batchSize: 2 }));
  const x = b!.feeds.x!;
  assert.deepEqual(x.dims, [2, 5, 20, 3]); // widths 10 and 20 → batch max 20 (≥ 8)
  const d = x.data as Float32Array;
  assert.deepEqual([...d.subarray(0, 3)], [0, 0, 255]); // BGR of red
  assert.equal(d[(0 * 5 * 20 + 12) * 3], -9); // item 0 is 10 wide: column 12 is padding
  assert.deepEqual(b!.labels, ['R', 'W']);
});

test('bad data: missing file, unreadable image, unknown class — error by default, listed with skip', async () => {
  const dir = join(tmp, 'bad');
  mkdirSync(dir, { recursive: true });
  await png(join(dir, 'ok.png'), 10);
  writeFileSync(join(dir, 'corrupt.png'), 'not a png at all');
  writeFileSync(
    join(dir, 'labels.jsonl'),
    [
      '{"file":"ok.png","label":"dark"}',
      '{"file":"gone.png","label":"dark"}',
      '{"file":"corrupt.png","label":"light"}',
      '{"file":"ok.png","label":"purple"}',
    ].join('\n'),
  );
  const path = spec(dir);
  const strict = await loadTask(path);
  await assert.rejects(collect(strict.batches({ batchSize: 8 })), (e: Error) => e instanceof DataError && /bad item gone.png: file not found/.test(e.message));
  const lenient = await loadTask(path, { onBadItem: 'skip' });
  const batches = await collect(lenient.batches({ batchSize: 8 }));
  assert.deepEqual(
    batches.flatMap((b) => b.ids),
    ['ok.png'],
  );
  assert.deepEqual(
    lenient.skipped.map((s) => s.id),
    ['gone.png', 'corrupt.png', 'ok.png'],
  );
  assert.match(lenient.skipped[1]!.reason, /cannot decode/);
  assert.match(lenient.skipped[2]!.reason, /unknown class 'purple'/);
});

test('empty folders, empty class folders and unknown tasks are clear errors', async () => {
  const empty = join(tmp, 'empty');
  mkdirSync(empty, { recursive: true });
  await assert.rejects(loadTask(spec(empty)), /no labels.jsonl and no class subfolders/);
  mkdirSync(join(empty, 'dark'));
  await assert.rejects(loadTask(spec(empty)), /class folder .*dark has no images/);
  await assert.rejects(loadTask('no-such-task'), (e: Error) => e instanceof TaskSpecError && /unknown task/.test(e.message));
  await assert.rejects(loadTask('mnist', { data: join(tmp, 'nowhere') }), /data not found/);
});

test('.npy rows stream as tensors; NaN in a row is a bad item', async () => {
  const dir = join(tmp, 'npy');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'inputs.npy'), encodeNpy(new Float32Array([1, 2, 3, NaN, 5, 6]), [3, 2]));
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(new Int32Array([0, 1, 1]), [3]));
  const path = join(dir, 'task.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 't',
      input: 'v',
      data: { format: 'npy', path: '.' },
      preprocess: { kind: 'tensor' },
      output: { decode: 'classes', classes: ['a', 'b'] },
      metric: 'accuracy',
    }),
  );
  await assert.rejects(collect((await loadTask(path)).batches({ batchSize: 4 })), /row 1: the input has NaN at element 1/);
  const task = await loadTask(path, { onBadItem: 'skip' });
  const [b] = await collect(task.batches({ batchSize: 4 }));
  assert.deepEqual(b!.feeds.v!.dims, [2, 2]);
  assert.deepEqual([...(b!.feeds.v!.data as Float32Array)], [1, 2, 5, 6]);
  assert.deepEqual(b!.labels, [0, 1]);
});

test('text JSONL through a tokenizer.json gives int64 ids and masks', async () => {
  const dir = join(tmp, 'text');
  mkdirSync(dir, { recursive: true });
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [special(0, '[PAD]'), special(1, '[UNK]'), special(2, '[CLS]'), special(3, '[SEP]')],
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [],
        special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab: { '[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3, deep: 4, scratch: 5, '##es': 6, ok: 7 },
      },
    }),
  );
  writeFileSync(join(dir, 'd.jsonl'), '{"text":"Deep scratches","label":"scratch"}\n{"text":"ok","label":"ok"}\n');
  const path = join(dir, 'task.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 'txt',
      data: { format: 'jsonl', path: 'd.jsonl' },
      preprocess: { kind: 'text', tokenizer: 'tokenizer.json', maxLength: 16, inputs: { ids: 'input_ids', mask: 'attention_mask' } },
      output: { decode: 'classes' },
      metric: 'accuracy',
    }),
  );
  const task = await loadTask(path);
  assert.deepEqual(task.classes, ['ok', 'scratch']);
  const [b] = await collect(task.batches({ batchSize: 2 }));
  assert.deepEqual(b!.feeds.input_ids!.dims, [2, 5]);
  assert.deepEqual([...(b!.feeds.input_ids!.data as BigInt64Array)].map(Number), [2, 4, 5, 6, 3, 2, 7, 3, 0, 0]);
  assert.deepEqual([...(b!.feeds.attention_mask!.data as BigInt64Array)].map(Number), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(b!.labels, [1, 0]);
});

test('splits are deterministic by seed, disjoint, and cover the data', async () => {
  const ids = Array.from({ length: 2000 }, (_, i) => `img/${i}.png`);
  const a = ids.map((id) => splitOf(id, 1));
  assert.deepEqual(
    a,
    ids.map((id) => splitOf(id, 1)),
  );
  assert.notDeepEqual(
    a,
    ids.map((id) => splitOf(id, 2)),
  );
  const train = a.filter((s) => s === 'train').length / ids.length;
  assert.ok(train > 0.75 && train < 0.85, `train fraction ${train}`);
  const tr = await loadTask('mnist', { split: 'train', seed: 5 });
  const te = await loadTask('mnist', { split: 'test', seed: 5 });
  const trainIds = new Set(tr.itemList().map((i) => i.id));
  assert.ok(te.itemList().every((i) => !trainIds.has(i.id)));
  assert.ok(tr.size + te.size < 10000 && tr.size > 7000);
});

test('mnist: 28×28 digits in 0..1 with their labels; calibrationFeeds streams n items in the pass Feeds shape', async () => {
  const task = await loadTask('mnist', { limit: 12 });
  const [b] = await collect(task.batches({ batchSize: 12, input: 'pixels' }));
  assert.deepEqual(b!.feeds.pixels!.dims, [12, 1, 28, 28]);
  assert.deepEqual(b!.labels, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  const d = b!.feeds.pixels!.data as Float32Array;
  assert.ok(Math.min(...d) >= 0 && Math.max(...d) <= 1 && Math.max(...d) > 0.9);
  const stream = calibrationFeeds(task, 5, { input: 'pixels' });
  let n = 0;
  for await (const f of stream()) {
    assert.deepEqual(f.pixels!.dims, [1, 1, 28, 28]);
    assert.equal(f.pixels!.type, 'float32');
    n++;
  }
  assert.equal(n, 5);
  let again = 0;
  for await (const _ of stream()) again++;
  assert.equal(again, 5, 'each call is a fresh stream');
});

test('generated tasks are the same for the same seed and differ across seeds', async () => {
  const first = async (seed: number) => (await collect((await loadTask('serials', { limit: 3, seed })).batches({ batchSize: 3 })))[0]!;
  const a = await first(1);
  const b = await first(1);
  const c = await first(2);
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.feeds.x!.data, b.feeds.x!.data);
  assert.notDeepEqual(a.labels, c.labels);
  assert.ok(a.labels.every((t) => typeof t === 'string' && t.length >= 6));
  const parts = await loadTask('parts', { limit: 200, seed: 1, options: { defectRate: 0.1 } });
  const labels = (await collect(parts.batches({ batchSize: 50 }))).flatMap((x) => x.labels);
  const ok = labels.filter((l) => l === 0).length / labels.length;
  assert.ok(ok > 0.82 && ok < 0.97, `ok fraction ${ok} with defectRate 0.1`);
});

test('calibrationFeeds fitted to a model: its input name, flattened images for a rank-2 input', async () => {
  const { GraphBuilder } = await import('../onnx/builder.js');
  const { DataType } = await import('../onnx/dtype.js');
  const b = new GraphBuilder('mlp');
  const x = b.input('flat_in', DataType.FLOAT, ['N', 784]);
  b.op('Identity', [x], {}, { outputs: ['y'] });
  b.output('y', DataType.FLOAT, ['N', 784]);
  const task = await loadTask('mnist', { limit: 4 });
  const feeds = [];
  for await (const f of calibrationFeeds(task, 3, { model: b.model(), batchSize: 2 })()) feeds.push(f);
  assert.deepEqual(
    feeds.map((f) => Object.keys(f)),
    [['flat_in'], ['flat_in']],
  );
  assert.deepEqual(feeds[0]!.flat_in!.dims, [2, 784]);
});

test('CSV text data: header names the columns, quoted cells may hold commas', async () => {
  const { parseCsvLine } = await import('./sources.js');
  assert.deepEqual(parseCsvLine('"a, b",c,"say ""hi"""'), ['a, b', 'c', 'say "hi"']);
  const dir = join(tmp, 'csv');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'd.csv'), 'label,text\nscratch,"deep, long scratch"\nok,fine\n');
  writeFileSync(join(dir, 'bad.csv'), 'label,body\nok,fine\n');
  const path = join(dir, 'task.json');
  writeFileSync(
    path,
    JSON.stringify({
      name: 'csv',
      data: { format: 'csv', path: 'd.csv' },
      preprocess: { kind: 'text', tokenizer: '../text/tokenizer.json' },
      output: { decode: 'classes' },
      metric: 'accuracy',
    }),
  );
  const task = await loadTask(path);
  assert.deepEqual(task.classes, ['ok', 'scratch']);
  assert.deepEqual(
    task.itemList().map((i) => i.label),
    ['scratch', 'ok'],
  );
  await assert.rejects(loadTask(path, { data: join(dir, 'bad.csv') }), /no 'text' column/);
});

test("labels.jsonl: a file in a sibling folder whose name starts with the data folder's is outside it", async () => {
  const dir = join(tmp, 'imgs');
  mkdirSync(join(tmp, 'imgs2'), { recursive: true });
  mkdirSync(dir, { recursive: true });
  await png(join(tmp, 'imgs2', 'a.png'), 10);
  await png(join(dir, 'b.png'), 10);
  writeFileSync(
    join(dir, 'labels.jsonl'),
    JSON.stringify({ file: 'b.png', label: 'dark' }) + '\n' + JSON.stringify({ file: '../imgs2/a.png', label: 'dark' }) + '\n',
  );
  await assert.rejects(loadTask(spec(dir)), (e) => e instanceof DataError && /points outside the data folder/.test(e.message));
});

test('a limit that is not a whole number ≥ 1 is refused (a negative one would drop items from the end)', async () => {
  for (const limit of [0, -2, 2.5])
    await assert.rejects(loadTask('mnist', { limit }), (e) => e instanceof UsageError && /limit/.test(e.message), String(limit));
});

test('generator options are checked up front: unknown name, not a number, out of range', async () => {
  await assert.rejects(loadTask('parts', { limit: 2, options: { foo: 1 } }), (e) => e instanceof UsageError && /no generator option 'foo'/.test(e.message));
  await assert.rejects(loadTask('parts', { limit: 2, options: { defectRate: 'abc' } }), (e) => e instanceof UsageError && /defectRate/.test(e.message));
  await assert.rejects(loadTask('parts', { limit: 2, options: { size: 0 } }), (e) => e instanceof UsageError && /size/.test(e.message));
  await assert.rejects(loadTask('serials', { limit: 2, options: { difficulty: 3 } }), (e) => e instanceof UsageError && /difficulty/.test(e.message));
  await assert.rejects(loadTask('mnist', { options: { x: 1 } }), (e) => e instanceof UsageError);
  assert.equal((await loadTask('parts', { limit: 2, options: { defectRate: '0.2', size: 32 } })).size, 2);
});

test("resize 'none': an image of another size is a bad item (skippable), not a crash of the whole batch", async () => {
  const dir = join(tmp, 'none');
  mkdirSync(join(dir, 'dark'), { recursive: true });
  mkdirSync(join(dir, 'light'), { recursive: true });
  await png(join(dir, 'dark', 'a.png'), 10, 6, 4);
  await png(join(dir, 'light', 'b.png'), 240, 6, 4);
  await png(join(dir, 'light', 'big.png'), 240, 60, 40);
  const path = spec(dir, { preprocess: { kind: 'image', height: 4, width: 6, resize: 'none', channels: 'gray' } });
  await assert.rejects(collect((await loadTask(path)).batches({ batchSize: 4 })), (e) => e instanceof DataError && /light\/big\.png.*60×40/.test(e.message));
  const skip = await loadTask(path, { onBadItem: 'skip' });
  const batches = await collect(skip.batches({ batchSize: 4 }));
  assert.equal(batches[0]!.ids.length, 2);
  assert.equal(skip.skipped.length, 1);
});
