import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ctcGreedy, classProbabilities, softmax, whitespaceClasses } from './decode.js';

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

/** [T, C] probabilities: each step's argmax class at the given probability, the rest shared evenly. */
function frames(steps: [number, number][], classes: number): Float32Array {
  const data = new Float32Array(steps.length * classes);
  steps.forEach(([k, p], t) => {
    for (let c = 0; c < classes; c++) data[t * classes + c] = c === k ? p : (1 - p) / (classes - 1);
  });
  return data;
}

test('CTC greedy: the least confidence is the weakest character, each at the best step of its run', () => {
  const alphabet = ['', 'a', 'b'];
  // steps: a (0.5) a (0.95) _ b (0.7) b (0.6) → "ab"; a peaks at 0.95, b at 0.7
  const steps: [number, number][] = [
    [1, 0.5],
    [1, 0.95],
    [0, 0.9],
    [2, 0.7],
    [2, 0.6],
  ];
  const data = frames(steps, 3);
  const [r] = ctcGreedy(data, [1, steps.length, 3], alphabet, 0);
  assert.equal(r!.text, 'ab');
  assert.ok(Math.abs(r!.least - 0.7) < 1e-6, `least ${r!.least}`);
  // PaddleOCR's score keeps the first step of each run: (0.5 + 0.7) / 2
  assert.ok(Math.abs(r!.confidence - 0.6) < 1e-6);
  const blanks = new Float32Array([0.9, 0.05, 0.05]);
  assert.deepEqual(ctcGreedy(blanks, [1, 1, 3], alphabet, 0)[0], { text: '', confidence: 0, least: 0 });
});

test('CTC greedy: with ignoreWhitespace a space stays in the text and counts in neither confidence', () => {
  const alphabet = ['', 'a', ' '];
  // a (0.9) ' ' (0.5) ' ' (0.6) _ a (0.8): "a a"
  const steps: [number, number][] = [
    [1, 0.9],
    [2, 0.5],
    [2, 0.6],
    [0, 0.9],
    [1, 0.8],
  ];
  const data = frames(steps, 3);
  const [all] = ctcGreedy(data, [1, steps.length, 3], alphabet, 0);
  assert.equal(all!.text, 'a a');
  assert.ok(Math.abs(all!.least - 0.6) < 1e-6, 'the space peaks at 0.6 in its run');
  assert.ok(Math.abs(all!.confidence - (0.9 + 0.5 + 0.8) / 3) < 1e-6);
  assert.deepEqual([...whitespaceClasses(['', 'a', ' ', '\t', 'b c'])], [2, 3], 'whole-whitespace entries only');
  const [blind] = ctcGreedy(data, [1, steps.length, 3], alphabet, 0, whitespaceClasses(alphabet));
  assert.equal(blind!.text, 'a a');
  assert.ok(Math.abs(blind!.least - 0.8) < 1e-6, `least ${blind!.least}`);
  assert.ok(Math.abs(blind!.confidence - 0.85) < 1e-6);
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
