import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ctcGreedy, classProbabilities, softmax } from './decode.js';

test('CTC greedy: merges repeats, drops blanks, keeps a repeat split by a blank', () => {
  const alphabet = ['', 'a', 'b', ' '];
  // steps argmax: a a _ a b b _ ' ' → "aab "
  const steps = [1, 1, 0, 1, 2, 2, 0, 3];
  const data = new Float32Array(steps.length * 4);
  steps.forEach((k, t) => {
    for (let c = 0; c < 4; c++) data[t * 4 + c] = c === k ? 0.9 : 0.1 / 3;
  });
  const [r] = ctcGreedy(data, [1, steps.length, 4], alphabet, 0);
  assert.equal(r!.text, 'aab ');
  assert.ok(Math.abs(r!.confidence - 0.9) < 1e-6);
});

test('class probabilities: softmax applied to logits, left alone for probabilities', () => {
  const logits = new Float32Array([0, Math.log(3)]);
  const [p] = classProbabilities(logits, 1, 'auto');
  assert.ok(Math.abs(p![1]! - 0.75) < 1e-6);
  const probs = new Float32Array([0.25, 0.75, 0.5, 0.5]);
  const rows = classProbabilities(probs, 2, 'auto');
  assert.deepEqual([...rows[1]!], [0.5, 0.5]);
  const s = softmax(new Float32Array([1000, 1000]));
  assert.deepEqual([...s], [0.5, 0.5]);
});
