// Scale / zero-point arithmetic shared by the quantization passes: ranges of integer types, affine
// parameters from a float range, per-tensor and per-channel (any axis) quantization of weights.
//   q = clamp(round(x / scale) + zeroPoint, qmin, qmax),   x ≈ (q - zeroPoint) * scale

export interface IntRange {
  qmin: number;
  qmax: number;
}

/** Integer range of a `bits`-wide type; signed symmetric ranges drop the most negative code (int8: −127..127). */
export function intRange(bits: number, signed: boolean, narrow = false): IntRange {
  if (signed) return { qmin: -(2 ** (bits - 1)) + (narrow ? 1 : 0), qmax: 2 ** (bits - 1) - 1 };
  return { qmin: 0, qmax: 2 ** bits - 1 };
}

export interface Affine {
  scale: number;
  zeroPoint: number;
}

/**
 * Scale and zero point that map [min, max] (widened to contain 0, so 0 is exact) onto the range.
 * Symmetric: zero point is the middle of the range and scale = max|x| / (half range).
 */
export function affineFromRange(min: number, max: number, range: IntRange, symmetric: boolean): Affine {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (symmetric) {
    // Signed: zero point 0. Unsigned: the middle code (uint8 128, uint4 8).
    const absMax = Math.max(-lo, hi);
    const zeroPoint = range.qmin < 0 ? 0 : Math.ceil((range.qmax + range.qmin) / 2);
    const steps = Math.min(zeroPoint - range.qmin, range.qmax - zeroPoint);
    return { scale: absMax > 0 ? absMax / steps : 1, zeroPoint };
  }
  if (hi === lo) return { scale: 1, zeroPoint: Math.max(range.qmin, 0) };
  const scale = (hi - lo) / (range.qmax - range.qmin);
  const zeroPoint = Math.min(range.qmax, Math.max(range.qmin, Math.round(range.qmin - lo / scale)));
  return { scale, zeroPoint };
}

export function quantizeValue(x: number, a: Affine, r: IntRange): number {
  const q = Math.round(x / a.scale) + a.zeroPoint;
  return q < r.qmin ? r.qmin : Math.min(q, r.qmax);
}

export interface ChannelQuant {
  /** Integer codes in the layout of the input. */
  q: Int32Array;
  /** One per channel (one in all for per-tensor). */
  scales: Float32Array;
  zeroPoints: Int32Array;
}

/**
 * Quantizes `values` of shape `dims` with one (scale, zero point) per index along `axis`
 * (axis = -1 / undefined: one for the whole tensor).
 *   MatMul weight [K, N]: axis 1 (per output column); Conv weight [M, C/g, kh, kw]: axis 0.
 */
export function quantizeTensor(
  values: ArrayLike<number>,
  dims: readonly number[],
  axis: number | undefined,
  range: IntRange,
  symmetric: boolean,
): ChannelQuant {
  const total = values.length;
  const perTensor = axis === undefined || axis < 0;
  const channels = perTensor ? 1 : dims[axis]!;
  const inner = perTensor ? total : dims.slice(axis + 1).reduce((a, d) => a * d, 1);
  const chanOf = (i: number) => (perTensor ? 0 : Math.floor(i / inner) % channels);
  const mins = new Float64Array(channels).fill(Infinity);
  const maxs = new Float64Array(channels).fill(-Infinity);
  for (let i = 0; i < total; i++) {
    const c = chanOf(i);
    const v = values[i]!;
    if (v < mins[c]!) mins[c] = v;
    if (v > maxs[c]!) maxs[c] = v;
  }
  const scales = new Float32Array(channels);
  const zeroPoints = new Int32Array(channels);
  const affines: Affine[] = [];
  for (let c = 0; c < channels; c++) {
    const a = affineFromRange(Number.isFinite(mins[c]!) ? mins[c]! : 0, Number.isFinite(maxs[c]!) ? maxs[c]! : 0, range, symmetric);
    // Store the scale as float32 and quantize with that exact value, as the runtime will dequantize with it.
    a.scale = Math.fround(a.scale);
    affines.push(a);
    scales[c] = a.scale;
    zeroPoints[c] = a.zeroPoint;
  }
  const q = new Int32Array(total);
  for (let i = 0; i < total; i++) q[i] = quantizeValue(values[i]!, affines[chanOf(i)]!, range);
  return { q, scales, zeroPoints };
}

/** (q − zp) · scale, per channel along `axis` as in quantizeTensor. */
export function dequantizeTensor(cq: ChannelQuant, dims: readonly number[], axis: number | undefined): Float32Array {
  const total = cq.q.length;
  const perTensor = axis === undefined || axis < 0;
  const channels = perTensor ? 1 : dims[axis]!;
  const inner = perTensor ? total : dims.slice(axis + 1).reduce((a, d) => a * d, 1);
  const out = new Float32Array(total);
  for (let i = 0; i < total; i++) {
    const c = perTensor ? 0 : Math.floor(i / inner) % channels;
    out[i] = (cq.q[i]! - cq.zeroPoints[c]!) * cq.scales[c]!;
  }
  return out;
}

/** Row-major transpose of a [rows, cols] matrix. */
export function transpose2d(values: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}
