// MNIST splits for training: --limit keeps a class-balanced prefix before the split, and a model whose
// input does not take 784 values is refused instead of fed zero-padded or cut digits.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mnistSplits } from './dataset.js';
import { UsageError } from '../onnx/errors.js';

test('mnistSplits: limit keeps the first n digits in all; 0, negative and a shape that is not 784 values are usage errors', () => {
  const s = mnistSplits({ limit: 400 });
  assert.equal(s.train.labels.length + s.val.labels.length + s.test.labels.length, 400);
  assert.ok(new Set(s.train.labels).size === 10, 'the prefix has every class');
  for (const limit of [0, -3, 1.5])
    assert.throws(
      () => mnistSplits({ limit }),
      (e) => e instanceof UsageError && /limit/.test(e.message),
      String(limit),
    );
  assert.throws(
    () => mnistSplits({ sampleShape: [3, 32, 32] }),
    (e) => e instanceof UsageError && /784/.test(e.message),
  );
  assert.throws(
    () => mnistSplits({ sampleShape: [100] }),
    (e) => e instanceof UsageError && /784/.test(e.message),
  );
  assert.deepEqual(mnistSplits({ sampleShape: [1, 28, 28], limit: 50 }).train.sampleShape, [1, 28, 28]);
});
