// Frame balancing of per-frame distillation: rows whose teacher argmax is the background class (CTC
// blank) share half of the weight, the other rows the other half.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { backgroundClass, rowWeights } from './frame-weights.js';

/** Rows of 3 class logits, each row's argmax as given. */
const rows = (argmax: number[]) => Float32Array.from(argmax.flatMap((k) => [0, 1, 2].map((j) => (j === k ? 5 : 0))));

test('balanced rows: background rows share half the weight, the others the other half', () => {
  const w = rowWeights(rows([0, 0, 0, 2]), 4, 3, 0);
  assert.deepEqual(
    Array.from(w, (v) => +v.toFixed(6)),
    [1 / 6, 1 / 6, 1 / 6, 1 / 2].map((v) => +v.toFixed(6)),
  );
});

test('uniform rows without a background class, or when every row (or none) is background', () => {
  for (const w of [rowWeights(rows([0, 0, 1, 2]), 4, 3), rowWeights(rows([0, 0, 0, 0]), 4, 3, 0), rowWeights(rows([1, 2, 1, 2]), 4, 3, 0)])
    assert.deepEqual(Array.from(w), [0.25, 0.25, 0.25, 0.25]);
});

test('the background class is the most frequent teacher argmax', () => {
  assert.equal(backgroundClass({ logits: rows([2, 1, 2, 2, 0]), tensor: 't', frames: 5, classes: 3, runs: 1 }), 2);
});
