// HQQ (Badri & Shaji 2023, "Half-Quadratic Quantization"): data-free, per block. Fits the block's grid
// under an lp (p < 1) error norm, so a few outliers stop dragging it, by alternating a shrinkage step for
// the sparse error We with a closed-form update of the grid:
//   We = shrink_p(W − (Q − z)·s),   z = mean(Q − (W − We)/s),   Q = clamp(round(W/s + z)).
// Fractional zero points are allowed by MatMulNBits but run on a slower path in ORT, so by default the
// zero point is then fixed to each neighbouring integer and the scale refitted the same way
// (s = Σ(W − We)(Q − z) / Σ(Q − z)²); the better of the two is kept.

import type { BlockQuant } from './block.js';
import { blockCount } from './block.js';

export interface HqqOptions {
  blockSize: number;
  /** The lp norm of the error (default 0.7). */
  p?: number;
  iterations?: number;
  beta?: number;
  kappa?: number;
  /** Integer zero points (default true): the fast kernel path. */
  integerZeroPoints?: boolean;
}

/** A BlockQuant that may have fractional zero points: floatZeroPoints[n·nBlocks + b]. */
export interface HqqQuant extends BlockQuant {
  floatZeroPoints?: Float32Array;
}

function shrink(x: number, beta: number, p: number): number {
  const a = Math.abs(x);
  if (a === 0) return 0;
  const t = a - Math.pow(a, p - 1) / beta;
  return t > 0 ? Math.sign(x) * t : 0;
}

/** One block: values w[from, from+len). Returns the fitted grid and codes (in q). */
function fitBlock(w: Float32Array, from: number, len: number, q: Float64Array, opts: HqqOptions): { s: number; z: number } {
  const p = opts.p ?? 0.7;
  const iters = opts.iterations ?? 20;
  const kappa = opts.kappa ?? 1.01;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < len; i++) {
    lo = Math.min(lo, w[from + i]!);
    hi = Math.max(hi, w[from + i]!);
  }
  if (!(hi > lo)) {
    // A constant block c: zero point 8, and c on code 0 (c < 0), 8 (c = 0) or 15 (c > 0).
    const code = lo < 0 ? 0 : lo > 0 ? 15 : 8;
    for (let i = 0; i < len; i++) q[i] = code;
    return { s: lo === 0 ? 1 : Math.fround(lo / (code - 8)), z: 8 };
  }
  const quant = (s: number, z: number) => {
    for (let i = 0; i < len; i++) q[i] = Math.min(15, Math.max(0, Math.round(w[from + i]! / s + z)));
  };
  const lpErr = (s: number, z: number) => {
    let e = 0;
    for (let i = 0; i < len; i++) e += Math.pow(Math.abs(w[from + i]! - (q[i]! - z) * s), p);
    return e;
  };
  // Stage 1: zero point, scale fixed at min-max.
  const s0 = Math.fround((hi - lo) / 15);
  let z = -lo / s0;
  quant(s0, z);
  let best = { s: s0, z, err: lpErr(s0, z) };
  let beta = opts.beta ?? 10;
  for (let it = 0; it < iters; it++) {
    let sum = 0;
    for (let i = 0; i < len; i++) {
      const x = w[from + i]!;
      sum += q[i]! - (x - shrink(x - (q[i]! - z) * s0, beta, p)) / s0;
    }
    z = sum / len;
    beta *= kappa;
    quant(s0, z);
    const err = lpErr(s0, z);
    if (err < best.err) best = { s: s0, z, err };
    else break;
  }
  if (!(opts.integerZeroPoints ?? true)) {
    quant(best.s, best.z);
    return best;
  }
  // Stage 2: integer zero point, scale refitted.
  let pick: { s: number; z: number; err: number } | undefined;
  for (const zi of new Set([Math.floor(best.z), Math.ceil(best.z)].map((c) => Math.min(15, Math.max(0, c))))) {
    let s = s0;
    quant(s, zi);
    let cur = { s, z: zi, err: lpErr(s, zi) };
    beta = opts.beta ?? 10;
    for (let it = 0; it < iters; it++) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < len; i++) {
        const x = w[from + i]!;
        const d = q[i]! - zi;
        num += (x - shrink(x - d * s, beta, p)) * d;
        den += d * d;
      }
      if (!(den > 0) || !(num / den > 0)) break;
      s = Math.fround(num / den);
      beta *= kappa;
      quant(s, zi);
      const err = lpErr(s, zi);
      if (err < cur.err) cur = { s, z: zi, err };
      else break;
    }
    if (!pick || cur.err < pick.err) pick = cur;
  }
  quant(pick!.s, pick!.z);
  return pick!;
}

export function quantizeBlocksHqq(wT: Float32Array, n: number, k: number, opts: HqqOptions): HqqQuant {
  const { blockSize } = opts;
  const nb = blockCount(k, blockSize);
  const kp = nb * blockSize;
  const codes = new Uint8Array(n * kp);
  const scales = new Float32Array(n * nb);
  const zps = new Float32Array(n * nb);
  const q = new Float64Array(blockSize);
  for (let r = 0; r < n; r++)
    for (let b = 0; b < nb; b++) {
      const len = Math.min(k, (b + 1) * blockSize) - b * blockSize;
      const { s, z } = fitBlock(wT, r * k + b * blockSize, len, q, opts);
      scales[r * nb + b] = s;
      zps[r * nb + b] = z;
      const pad = Math.min(15, Math.max(0, Math.round(z)));
      for (let i = 0; i < blockSize; i++) codes[r * kp + b * blockSize + i] = i < len ? q[i]! : pad;
    }
  const zeroPoints = Uint8Array.from(zps, (z) => Math.min(15, Math.max(0, Math.round(z))));
  const floatZeroPoints = (opts.integerZeroPoints ?? true) ? undefined : zps;
  return { n, k, blockSize, nBlocks: nb, codes, scales, zeroPoints, floatZeroPoints, symmetric: false };
}
