import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageStats } from './image-stats.js';
import { grayToPixels } from './image.js';

test('a flat grey image: brightness is its level, no contrast, no sharpness', () => {
  const s = imageStats(grayToPixels(new Array(64 * 32).fill(128), 64, 32));
  assert.ok(Math.abs(s.brightness - 128 / 255) < 1e-9);
  assert.ok(s.contrast < 1e-6);
  assert.ok(s.sharpness < 1e-6);
});

test('a checkerboard is sharper and more contrasted than the same board blurred', () => {
  const w = 32;
  const board = Array.from({ length: w * w }, (_, i) => (((i % w) + Math.floor(i / w)) % 2 ? 255 : 0));
  const blurred = board.map((_, i) => {
    const x = i % w;
    return x % 2 ? 140 : 115;
  });
  const a = imageStats(grayToPixels(board, w, w));
  const b = imageStats(grayToPixels(blurred, w, w));
  assert.ok(Math.abs(a.brightness - 0.5) < 0.01);
  assert.ok(Math.abs(a.contrast - 0.5) < 0.01, String(a.contrast));
  assert.ok(a.sharpness > 10 * b.sharpness, `${a.sharpness} vs ${b.sharpness}`);
  assert.ok(a.contrast > b.contrast);
});
