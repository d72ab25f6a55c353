// Top-k frames: the k largest of each frame, most likely first; the mass left over spread evenly on
// the way back, so each frame still sums to one; k at or above the classes gives the frames back exactly.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { expandFrames, sparseBytes, topKFrames } from './sparse-frames.js';

const frames = [
  [0.05, 0.6, 0.1, 0.2, 0.05],
  [0.1, 0.1, 0.1, 0.3, 0.4],
  [0.2, 0.2, 0.2, 0.2, 0.2],
].flat();

test('top-k keeps the k most likely classes of each frame in order and spreads the rest evenly', () => {
  const s = topKFrames(Float32Array.from(frames), 3, 5, 2);
  assert.deepEqual(Array.from(s.index), [1, 3, 4, 3, 0, 1]);
  assert.deepEqual(
    Array.from(s.prob).map((v) => Math.round(v * 1e6) / 1e6),
    [0.6, 0.2, 0.4, 0.3, 0.2, 0.2],
  );
  assert.deepEqual(
    Array.from(s.rest).map((v) => Math.round(v * 1e6) / 1e6),
    [0.2, 0.3, 0.6],
  );
  const out = new Float32Array(2 + 15).fill(-1);
  expandFrames(s, out, 2);
  assert.deepEqual(Array.from(out.subarray(0, 2)), [-1, -1], 'writes only from its offset');
  const back = Array.from(out.subarray(2)).map((v) => Math.round(v * 1e6) / 1e6);
  assert.deepEqual(
    back,
    [0.2 / 3, 0.6, 0.2 / 3, 0.2, 0.2 / 3, 0.1, 0.1, 0.1, 0.3, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2].map((v) => Math.round(v * 1e6) / 1e6),
  );
  for (let f = 0; f < 3; f++) {
    const sum = back.slice(f * 5, f * 5 + 5).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `frame ${f} sums to ${sum}`);
  }
});

test('k at or above the class count gives the frames back exactly', () => {
  const p = Float32Array.from(frames);
  for (const k of [5, 9]) {
    const s = topKFrames(p, 3, 5, k);
    assert.equal(s.k, 5);
    const out = new Float32Array(15);
    expandFrames(s, out);
    assert.deepEqual(Array.from(out), Array.from(p));
  }
});

test('sparse bytes: two-byte indices up to 65,536 classes, four above; a bad k or shape is refused', () => {
  assert.equal(sparseBytes(40, 6625, 32), 40 * (32 * 6 + 4));
  assert.equal(sparseBytes(2, 65_536, 3), 2 * (3 * 6 + 4));
  assert.equal(sparseBytes(2, 65_537, 3), 2 * (3 * 8 + 4));
  assert.equal(sparseBytes(2, 4, 9), 2 * (4 * 6 + 4));
  assert.ok(topKFrames(new Float32Array(65_536).fill(1 / 65_536), 1, 65_536, 2).index instanceof Uint16Array);
  // the last class of a 65,537-class frame needs a four-byte index, and comes back where it was
  const C = 65_537;
  const p = new Float32Array(2 * C);
  p[C - 1] = 0.7;
  p[C - 2] = 0.3;
  p[C + 5] = 1;
  const s = topKFrames(p, 2, C, 2);
  assert.ok(s.index instanceof Uint32Array);
  assert.deepEqual(Array.from(s.index), [C - 1, C - 2, 5, 0]);
  const back = new Float32Array(2 * C);
  expandFrames(s, back);
  assert.deepEqual([back[C - 1], back[C - 2], back[C + 5], back[C + 6]], [p[C - 1], p[C - 2], 1, 0]);
  // k = 1 is the smallest k: each frame's most likely class
  assert.deepEqual(Array.from(topKFrames(Float32Array.from(frames), 3, 5, 1).index), [1, 4, 0]);
  assert.throws(() => topKFrames(new Float32Array(10), 2, 5, 0), /k must be at least 1/);
  assert.throws(() => topKFrames(new Float32Array(9), 2, 5, 2), /9 probabilities for 2 frames of 5 classes/);
});
