// Block-wise 4-bit weight quantization in com.microsoft MatMulNBits layout.
// The weight is held transposed, wT [N, K] (one row per output channel); each row is cut into blocks of
// `blockSize` along K (the last one zero-padded), each block with its own scale and zero point.
//   dequant(code) = (code − zp) · scale;   symmetric: zp = 8 (the kernel's default), not stored.
//   B [N, nBlocks, blockSize/2] uint8, codes low nibble first; scales [N·nBlocks];
//   zero_points (asymmetric) [N · ceil(nBlocks/2)] uint8, two per byte, each row padded to a byte.

export interface BlockQuant {
  n: number;
  k: number;
  blockSize: number;
  nBlocks: number;
  /** Unpacked codes 0..15, [N, nBlocks·blockSize] (padding codes = zero point). */
  codes: Uint8Array;
  scales: Float32Array;
  zeroPoints: Uint8Array;
  symmetric: boolean;
}

export function blockCount(k: number, blockSize: number): number {
  return Math.ceil(k / blockSize);
}

/** Scale and zero point of one block from its values (round-to-nearest grid). */
export function blockParams(vals: ArrayLike<number>, from: number, to: number, symmetric: boolean): { scale: number; zp: number } {
  if (symmetric) {
    // The value of largest magnitude maps to code 0 (−8 steps): one more level than max/7.
    let ext = 0;
    for (let i = from; i < to; i++) if (Math.abs(vals[i]!) > Math.abs(ext)) ext = vals[i]!;
    return { scale: ext === 0 ? 1 : Math.fround(ext / -8), zp: 8 };
  }
  let lo = 0;
  let hi = 0;
  for (let i = from; i < to; i++) {
    const v = vals[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi === lo) return { scale: 1, zp: 8 };
  const scale = Math.fround((hi - lo) / 15);
  return { scale, zp: Math.min(15, Math.max(0, Math.round(-lo / scale))) };
}

export function quantCode(v: number, scale: number, zp: number): number {
  const q = Math.round(v / scale) + zp;
  return q < 0 ? 0 : Math.min(q, 15);
}

/** Round-to-nearest block quantization of wT [N, K]. */
export function quantizeBlocksRtn(wT: Float32Array, n: number, k: number, blockSize: number, symmetric: boolean): BlockQuant {
  const nb = blockCount(k, blockSize);
  const kp = nb * blockSize;
  const codes = new Uint8Array(n * kp);
  const scales = new Float32Array(n * nb);
  const zeroPoints = new Uint8Array(n * nb);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < nb; b++) {
      const from = r * k + b * blockSize;
      const to = r * k + Math.min(k, (b + 1) * blockSize);
      const { scale, zp } = blockParams(wT, from, to, symmetric);
      scales[r * nb + b] = scale;
      zeroPoints[r * nb + b] = zp;
      for (let j = 0; j < blockSize; j++) {
        const kk = b * blockSize + j;
        codes[r * kp + kk] = kk < k ? quantCode(wT[r * k + kk]!, scale, zp) : zp;
      }
    }
  }
  return { n, k, blockSize, nBlocks: nb, codes, scales, zeroPoints, symmetric };
}

/** The float weight wT [N, K] that a BlockQuant decodes to. */
export function dequantizeBlocks(q: BlockQuant, floatZeroPoints?: Float32Array): Float32Array {
  const { n, k, blockSize, nBlocks: nb } = q;
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++)
    for (let kk = 0; kk < k; kk++) {
      const b = (kk / blockSize) | 0;
      const zp = floatZeroPoints ? floatZeroPoints[r * nb + b]! : q.zeroPoints[r * nb + b]!;
      out[r * k + kk] = (q.codes[r * nb * blockSize + kk]! - zp) * q.scales[r * nb + b]!;
    }
  return out;
}

/** B, scales and (asymmetric) zero_points tensors' bytes for MatMulNBits with bits = 4. */
export function packMatMulNBits(q: BlockQuant): { b: Uint8Array; bDims: number[]; scales: Float32Array; zeroPoints?: Uint8Array } {
  const { n, blockSize, nBlocks: nb } = q;
  const kp = nb * blockSize;
  const b = new Uint8Array((n * kp) / 2);
  for (let i = 0; i < n * kp; i += 2) b[i >> 1] = (q.codes[i]! & 0xf) | ((q.codes[i + 1]! & 0xf) << 4);
  if (q.symmetric) return { b, bDims: [n, nb, blockSize / 2], scales: q.scales };
  const perRow = Math.ceil(nb / 2);
  const zeroPoints = new Uint8Array(n * perRow);
  for (let r = 0; r < n; r++) for (let blk = 0; blk < nb; blk++) zeroPoints[r * perRow + (blk >> 1)]! |= (q.zeroPoints[r * nb + blk]! & 0xf) << ((blk & 1) * 4);
  return { b, bDims: [n, nb, blockSize / 2], scales: q.scales, zeroPoints };
}
