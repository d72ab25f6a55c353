import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { affineFromRange, dequantizeTensor, intRange, quantizeTensor, transpose2d } from './math.js';
import { packBits, unpackBits } from './pack.js';

test('intRange covers signed, unsigned and narrow ranges', () => {
  assert.deepEqual(intRange(8, true), { qmin: -128, qmax: 127 });
  assert.deepEqual(intRange(8, true, true), { qmin: -127, qmax: 127 });
  assert.deepEqual(intRange(8, false), { qmin: 0, qmax: 255 });
  assert.deepEqual(intRange(4, false), { qmin: 0, qmax: 15 });
});

test('affineFromRange: zero is exact, symmetric int8 has zero point 0, uint8 asymmetric spans the range', () => {
  const s = affineFromRange(-2, 1, intRange(8, true), true);
  assert.equal(s.zeroPoint, 0);
  assert.ok(Math.abs(s.scale - 2 / 127) < 1e-12);
  const su = affineFromRange(-1, 1, intRange(8, false), true);
  assert.equal(su.zeroPoint, 128);
  const a = affineFromRange(-1, 3, intRange(8, false), false);
  assert.ok(Math.abs(a.scale - 4 / 255) < 1e-12);
  assert.equal(a.zeroPoint, Math.round(255 / 4));
  // a range that excludes 0 is widened to contain it
  const p = affineFromRange(2, 4, intRange(8, false), false);
  assert.equal(p.zeroPoint, 0);
  assert.equal(affineFromRange(0, 0, intRange(8, true), true).scale, 1);
});

test('per-channel quantization gives each output channel its own scale and round-trips within half a step', () => {
  // W [K=3, N=2]: column 1 is 100× column 0, so per-tensor would crush column 0.
  const w = [0.01, 1, -0.02, -2, 0.005, 0.5];
  const per = quantizeTensor(w, [3, 2], 1, intRange(8, true), true);
  assert.equal(per.scales.length, 2);
  assert.ok(per.scales[1]! / per.scales[0]! > 50);
  const back = dequantizeTensor(per, [3, 2], 1);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(back[i]! - w[i]!) <= per.scales[i % 2]! / 2 + 1e-9, `element ${i}`);
  const whole = quantizeTensor(w, [3, 2], undefined, intRange(8, true), true);
  assert.equal(whole.scales.length, 1);
  // Conv layout [M, C, kh, kw], axis 0
  const conv = quantizeTensor(
    Float32Array.from({ length: 2 * 2 * 2 * 2 }, (_, i) => (i < 8 ? i : -i * 10)),
    [2, 2, 2, 2],
    0,
    intRange(8, true),
    true,
  );
  assert.equal(conv.scales.length, 2);
  assert.ok(conv.scales[1]! > conv.scales[0]!);
});

test('transpose2d and 4-bit packing round-trip', () => {
  assert.deepEqual([...transpose2d([1, 2, 3, 4, 5, 6], 2, 3)], [1, 4, 2, 5, 3, 6]);
  const codes = [1, 15, 0, 7, 9];
  const packed = packBits(codes, 4);
  assert.deepEqual([...packed], [0xf1, 0x70, 0x09]);
  assert.deepEqual([...unpackBits(packed, 4, 5)], codes);
});
