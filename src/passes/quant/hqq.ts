// HQQ (Badri & Shaji 2023, "Half-Quadratic Quantization"): data-free, per block. Keeps the min-max scale
// and optimizes the zero point under an lp (p < 1) error norm, so a few outliers stop dragging the grid:
// alternate a shrinkage step for the sparse error We and a closed-form zero point update.
//   We = shrink_p(W − (Q − z)·s),  z = mean(Q − (W − We)/s),  Q = clamp(round(W/s + z)).
// The zero point stays fractional (MatMulNBits accepts float zero points).

import type { BlockQuant } from './block.js';
import { blockCount } from './block.js';

export interface HqqOptions {
  blockSize: number;
  /** The lp norm of the error (default 0.7). */
  p?: number;
  iterations?: number;
  beta?: number;
  kappa?: number;
}

/** A BlockQuant whose zero points are fractional: floatZeroPoints[n·nBlocks + b]. */
export interface HqqQuant extends BlockQuant {
  floatZeroPoints: Float32Array;
}

function shrink(x: number, beta: number, p: number): number {
  const a = Math.abs(x);
  if (a === 0) return 0;
  const t = a - Math.pow(a, p - 1) / beta;
  return t > 0 ? Math.sign(x) * t : 0;
}

export function quantizeBlocksHqq(wT: Float32Array, n: number, k: number, opts: HqqOptions): HqqQuant {
  const { blockSize } = opts;
  const p = opts.p ?? 0.7;
  const iters = opts.iterations ?? 20;
  const nb = blockCount(k, blockSize);
  const kp = nb * blockSize;
  const codes = new Uint8Array(n * kp);
  const scales = new Float32Array(n * nb);
  const zps = new Float32Array(n * nb);
  const q = new Float64Array(blockSize);
  for (let r = 0; r < n; r++)
    for (let b = 0; b < nb; b++) {
      const from = r * k + b * blockSize;
      const len = Math.min(k, (b + 1) * blockSize) - b * blockSize;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < len; i++) {
        lo = Math.min(lo, wT[from + i]!);
        hi = Math.max(hi, wT[from + i]!);
      }
      const s = hi > lo ? Math.fround((hi - lo) / 15) : 1;
      let z = hi > lo ? -lo / s : 8 - lo;
      const quant = () => {
        for (let i = 0; i < len; i++) q[i] = Math.min(15, Math.max(0, Math.round(wT[from + i]! / s + z)));
      };
      const lpErr = () => {
        let e = 0;
        for (let i = 0; i < len; i++) e += Math.pow(Math.abs(wT[from + i]! - (q[i]! - z) * s), p);
        return e;
      };
      quant();
      let best = { z, err: lpErr() };
      let beta = opts.beta ?? 10;
      for (let it = 0; it < iters; it++) {
        let sum = 0;
        for (let i = 0; i < len; i++) {
          const w = wT[from + i]!;
          const we = shrink(w - (q[i]! - z) * s, beta, p);
          sum += q[i]! - (w - we) / s;
        }
        z = sum / len;
        beta *= opts.kappa ?? 1.01;
        quant();
        const err = lpErr();
        if (err < best.err) best = { z, err };
        else break;
      }
      z = best.z;
      quant();
      scales[r * nb + b] = s;
      zps[r * nb + b] = z;
      for (let i = 0; i < blockSize; i++) codes[r * kp + b * blockSize + i] = i < len ? q[i]! : Math.min(15, Math.max(0, Math.round(z)));
    }
  const zeroPoints = Uint8Array.from(zps, (z) => Math.min(15, Math.max(0, Math.round(z))));
  return { n, k, blockSize, nBlocks: nb, codes, scales, zeroPoints, floatZeroPoints: zps, symmetric: false };
}
