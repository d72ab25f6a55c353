import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchKey, hasFreeBatch, pickBatch, splitOutputs, stackFeeds } from './batch.js';

const t = (rows: number, cols: number, from: number) => ({
  x: { type: 'float32', dims: [rows, cols], data: Float32Array.from({ length: rows * cols }, (_, i) => from + i) },
});

test('stacked along the first dim, split back into each request its own rows', () => {
  const { feeds, rows } = stackFeeds([t(1, 3, 0), t(2, 3, 100), t(1, 3, 200)]);
  assert.deepEqual(rows, [1, 2, 1]);
  assert.deepEqual(feeds.x!.dims, [4, 3]);
  assert.deepEqual([...(feeds.x!.data as Float32Array)], [0, 1, 2, 100, 101, 102, 103, 104, 105, 200, 201, 202]);
  const out = { y: { type: 'float32', dims: [4, 2], data: Float32Array.from([0, 1, 10, 11, 12, 13, 20, 21]) } };
  const parts = splitOutputs(out, rows);
  assert.deepEqual(
    parts.map((p) => ({ dims: p.y!.dims, data: [...(p.y!.data as Float32Array)] })),
    [
      { dims: [1, 2], data: [0, 1] },
      { dims: [2, 2], data: [10, 11, 12, 13] },
      { dims: [1, 2], data: [20, 21] },
    ],
  );
  assert.throws(() => splitOutputs(out, [1, 1]), /4 rows for a batch of 2/);
});

test('only requests of the same names, types and trailing dims share a key; free batch dims only', () => {
  assert.equal(batchKey(t(1, 3, 0)), batchKey(t(2, 3, 5)));
  assert.notEqual(batchKey(t(1, 3, 0)), batchKey(t(1, 4, 0)));
  assert.equal(batchKey({ x: { type: 'string', dims: [1], data: ['a'] } }), undefined);
  const io = (d0: number | string | undefined) => ({
    inputs: [{ name: 'x', type: 'float32', shape: [d0, 3] }],
    outputs: [{ name: 'y', type: 'float32', shape: [d0, 2] }],
  });
  assert.equal(hasFreeBatch(io('batch')), true);
  assert.equal(hasFreeBatch(io(undefined)), true);
  assert.equal(hasFreeBatch(io(1)), false);
});

test('a batch grows while its measured budget finishes every member by its deadline', () => {
  const c = (deadline: number, key = 'k', from = 0, to = 1) => ({ key, deadline, from, to });
  const budgets = new Map([
    [2, 6],
    [3, 8],
  ]);
  // at 0: pair done at 6, triple at 8; the one due at 7 fits a pair but not a triple, so the next is skipped
  assert.deepEqual(pickBatch(c(100), 0, [c(100), c(7), c(100)], budgets, 0, 4), [0, 2]);
  assert.deepEqual(pickBatch(c(100), 0, [c(7), c(100)], budgets, 0, 4), [0]);
  // other shapes, another rung, or the size cap stay out
  assert.deepEqual(pickBatch(c(100), 0, [c(100, 'other'), c(100, 'k', 1, 1), c(100), c(100)], budgets, 0, 2), [2]);
  // no measured size: alone
  assert.deepEqual(pickBatch(c(100), 0, [c(100)], new Map(), 0, 4), []);
});
