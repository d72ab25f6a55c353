// ONNX element types: numbers from TensorProto.DataType, names, bit widths, and the conversions
// (float16, bfloat16, packed 4-bit) that JS has no typed array for.

export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

const NAMES: Record<number, string> = {};
for (const [k, v] of Object.entries(DataType)) NAMES[v] = k.toLowerCase();
// The names ORT and numpy users know.
Object.assign(NAMES, { 1: 'float32', 10: 'float16', 11: 'float64' });

/** 'float32', 'int8', 'float16', … as onnxruntime-node spells them (and 'bfloat16', 'int4', …). */
export function dtypeName(t: number): string {
  return NAMES[t] ?? `dtype(${t})`;
}

const BY_NAME: Record<string, DataType> = {};
for (const [k, v] of Object.entries(NAMES)) BY_NAME[v] = Number(k) as DataType;
Object.assign(BY_NAME, { float: 1, double: 11, half: 10 });

export function dtypeFromName(name: string): DataType | undefined {
  return BY_NAME[name.toLowerCase()];
}

/** Bits per element; 0 for STRING and unknown types. */
export function dtypeBits(t: number): number {
  switch (t) {
    case DataType.BOOL:
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      return 8;
    case DataType.UINT16:
    case DataType.INT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return 16;
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 32;
    case DataType.INT64:
    case DataType.UINT64:
    case DataType.DOUBLE:
    case DataType.COMPLEX64:
      return 64;
    case DataType.COMPLEX128:
      return 128;
    case DataType.UINT4:
    case DataType.INT4:
    case DataType.FLOAT4E2M1:
      return 4;
    case DataType.UINT2:
    case DataType.INT2:
      return 2;
    default:
      return 0;
  }
}

/** Bytes that `count` elements occupy in raw_data (sub-byte types are packed, low bits first). */
export function rawByteLength(t: number, count: number): number {
  return Math.ceil((dtypeBits(t) * count) / 8);
}

export function isFloatType(t: number): boolean {
  return t === DataType.FLOAT || t === DataType.DOUBLE || t === DataType.FLOAT16 || t === DataType.BFLOAT16;
}

// ------------------------------------------------------------------ float16 / bfloat16

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half bits, round to nearest even. */
export function float32ToFloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → 0
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function float32ToBfloat16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // quiet nan
  const rounding = 0x7fff + ((x >>> 16) & 1);
  return ((x + rounding) >>> 16) & 0xffff;
}

export function bfloat16BitsToFloat32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

// ------------------------------------------------------------------ raw bytes ⇄ numbers

/** Decodes raw little-endian tensor bytes to float64 numbers (int64 beyond 2^53 loses precision). */
export function rawToNumbers(t: number, raw: Uint8Array, count: number): Float64Array {
  const out = new Float64Array(count);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (t) {
    case DataType.FLOAT:
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
      break;
    case DataType.DOUBLE:
      for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true);
      break;
    case DataType.FLOAT16:
      for (let i = 0; i < count; i++) out[i] = float16BitsToFloat32(dv.getUint16(2 * i, true));
      break;
    case DataType.BFLOAT16:
      for (let i = 0; i < count; i++) out[i] = bfloat16BitsToFloat32(dv.getUint16(2 * i, true));
      break;
    case DataType.INT8:
      for (let i = 0; i < count; i++) out[i] = dv.getInt8(i);
      break;
    case DataType.UINT8:
    case DataType.BOOL:
      for (let i = 0; i < count; i++) out[i] = raw[i]!;
      break;
    case DataType.INT16:
      for (let i = 0; i < count; i++) out[i] = dv.getInt16(2 * i, true);
      break;
    case DataType.UINT16:
      for (let i = 0; i < count; i++) out[i] = dv.getUint16(2 * i, true);
      break;
    case DataType.INT32:
      for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, true);
      break;
    case DataType.UINT32:
      for (let i = 0; i < count; i++) out[i] = dv.getUint32(4 * i, true);
      break;
    case DataType.INT64:
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigInt64(8 * i, true));
      break;
    case DataType.UINT64:
      for (let i = 0; i < count; i++) out[i] = Number(dv.getBigUint64(8 * i, true));
      break;
    case DataType.INT4:
      for (let i = 0; i < count; i++) {
        const nib = (raw[i >> 1]! >> ((i & 1) * 4)) & 0xf;
        out[i] = nib >= 8 ? nib - 16 : nib;
      }
      break;
    case DataType.UINT4:
      for (let i = 0; i < count; i++) out[i] = (raw[i >> 1]! >> ((i & 1) * 4)) & 0xf;
      break;
    default:
      throw new Error(`cannot convert ${dtypeName(t)} tensor data to numbers`);
  }
  return out;
}

/** Encodes numbers as raw little-endian bytes of type `t` (integers are rounded and clamped to range). */
export function numbersToRaw(t: number, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const out = new Uint8Array(rawByteLength(t, n));
  const dv = new DataView(out.buffer);
  const clampInt = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));
  switch (t) {
    case DataType.FLOAT:
      for (let i = 0; i < n; i++) dv.setFloat32(4 * i, values[i]!, true);
      break;
    case DataType.DOUBLE:
      for (let i = 0; i < n; i++) dv.setFloat64(8 * i, values[i]!, true);
      break;
    case DataType.FLOAT16:
      for (let i = 0; i < n; i++) dv.setUint16(2 * i, float32ToFloat16Bits(values[i]!), true);
      break;
    case DataType.BFLOAT16:
      for (let i = 0; i < n; i++) dv.setUint16(2 * i, float32ToBfloat16Bits(values[i]!), true);
      break;
    case DataType.INT8:
      for (let i = 0; i < n; i++) dv.setInt8(i, clampInt(values[i]!, -128, 127));
      break;
    case DataType.UINT8:
      for (let i = 0; i < n; i++) out[i] = clampInt(values[i]!, 0, 255);
      break;
    case DataType.BOOL:
      for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
      break;
    case DataType.INT16:
      for (let i = 0; i < n; i++) dv.setInt16(2 * i, clampInt(values[i]!, -32768, 32767), true);
      break;
    case DataType.UINT16:
      for (let i = 0; i < n; i++) dv.setUint16(2 * i, clampInt(values[i]!, 0, 65535), true);
      break;
    case DataType.INT32:
      for (let i = 0; i < n; i++) dv.setInt32(4 * i, clampInt(values[i]!, -2147483648, 2147483647), true);
      break;
    case DataType.UINT32:
      for (let i = 0; i < n; i++) dv.setUint32(4 * i, clampInt(values[i]!, 0, 4294967295), true);
      break;
    case DataType.INT64:
      for (let i = 0; i < n; i++) dv.setBigInt64(8 * i, int64FromNumber(values[i]!), true);
      break;
    case DataType.UINT64:
      for (let i = 0; i < n; i++) dv.setBigUint64(8 * i, BigInt(Math.max(0, Math.round(values[i]!))), true);
      break;
    case DataType.INT4:
      for (let i = 0; i < n; i++) out[i >> 1]! |= (clampInt(values[i]!, -8, 7) & 0xf) << ((i & 1) * 4);
      break;
    case DataType.UINT4:
      for (let i = 0; i < n; i++) out[i >> 1]! |= clampInt(values[i]!, 0, 15) << ((i & 1) * 4);
      break;
    default:
      throw new Error(`cannot encode numbers as ${dtypeName(t)}`);
  }
  return out;
}

export function int64FromNumber(v: number): bigint {
  if (v >= 2 ** 63) return 9223372036854775807n;
  if (v <= -(2 ** 63)) return -9223372036854775808n;
  return BigInt(Math.round(v));
}
