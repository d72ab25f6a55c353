import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  DataType,
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  numbersToRaw,
  rawByteLength,
  rawToNumbers,
} from './dtype.js';

test('float16 conversion: known bit patterns, rounding to nearest even, subnormals, inf/nan', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [1e6, 0x7c00],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [2 ** -26, 0x0000],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [Infinity, 0x7c00],
  ];
  for (const [v, bits] of cases) assert.equal(float32ToFloat16Bits(v), bits, `f16(${v})`);
  assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
  for (let h = 0; h < 0x7c00; h += 7) assert.equal(float32ToFloat16Bits(float16BitsToFloat32(h)), h);
});

test('bfloat16 conversion rounds to nearest even and keeps NaN quiet', () => {
  assert.equal(float32ToBfloat16Bits(1), 0x3f80);
  assert.equal(float32ToBfloat16Bits(-3.5), 0xc060);
  assert.equal(float32ToBfloat16Bits(1 + 2 ** -8), 0x3f80); // tie → even
  assert.equal(float32ToBfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN))));
  for (let b = 0; b < 0x7f80; b += 13) assert.equal(float32ToBfloat16Bits(bfloat16BitsToFloat32(b)), b);
});

test('4-bit types pack low nibble first and sign-extend int4', () => {
  const raw = numbersToRaw(DataType.INT4, [-8, 7, -1]);
  assert.deepEqual([...raw], [0x78, 0x0f]);
  assert.equal(rawByteLength(DataType.INT4, 3), 2);
  assert.deepEqual([...rawToNumbers(DataType.INT4, raw, 3)], [-8, 7, -1]);
  assert.deepEqual([...rawToNumbers(DataType.UINT4, numbersToRaw(DataType.UINT4, [15, 0, 9]), 3)], [15, 0, 9]);
});

test('every numeric type round-trips numbers ⇄ raw bytes', () => {
  const vals: Record<number, number[]> = {
    [DataType.FLOAT]: [1.5, -2.25, 2 ** -15],
    [DataType.DOUBLE]: [Math.PI, -1e300, 0],
    [DataType.FLOAT16]: [1.5, -2.25, 0.0999755859375],
    [DataType.BFLOAT16]: [1.5, -2.25, 256],
    [DataType.INT8]: [-128, 127, 0],
    [DataType.UINT8]: [0, 255, 7],
    [DataType.INT16]: [-32768, 32767, 1],
    [DataType.UINT16]: [65535, 0, 2],
    [DataType.INT32]: [-(2 ** 31), 2 ** 31 - 1, 5],
    [DataType.UINT32]: [2 ** 32 - 1, 0, 3],
    [DataType.INT64]: [-(2 ** 53), 2 ** 53, -1],
    [DataType.UINT64]: [2 ** 53, 0, 9],
    [DataType.BOOL]: [1, 0, 1],
    [DataType.INT4]: [-8, 7, 3],
    [DataType.UINT4]: [0, 15, 4],
  };
  for (const [t, v] of Object.entries(vals)) {
    const raw = numbersToRaw(Number(t), v);
    assert.equal(raw.length, rawByteLength(Number(t), v.length));
    assert.deepEqual([...rawToNumbers(Number(t), raw, v.length)], v, `dtype ${t}`);
  }
});
