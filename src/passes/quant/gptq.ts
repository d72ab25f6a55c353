// GPTQ (Frantar et al. 2022) for block-wise 4-bit weights: quantize the input dimensions of a layer one
// at a time and push each rounding error onto the not-yet-quantized dimensions, weighted by the inverse
// Hessian H = 2·XᵀX of the layer's calibration inputs X. This minimizes ‖XW − XŴ‖² rather than ‖W − Ŵ‖².
// Cost: O(K³) for the Cholesky factors plus O(K²·N) for the updates, so it suits K up to a few thousand.

import { type BlockQuant, blockCount, blockParams, quantCode } from './block.js';

/** Accumulates XᵀX of a layer's inputs, X rows of width K, in float64; memory is K² whatever the data size. */
export class HessianAccumulator {
  readonly h: Float64Array;
  rows = 0;
  constructor(readonly k: number) {
    this.h = new Float64Array(k * k);
  }
  /** x: rows·K values, row-major. */
  add(x: ArrayLike<number>): void {
    const k = this.k;
    const rows = Math.floor(x.length / k);
    const row = new Float64Array(k);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < k; i++) row[i] = x[r * k + i]!;
      for (let i = 0; i < k; i++) {
        const xi = row[i]!;
        if (xi === 0) continue;
        const base = i * k;
        for (let j = i; j < k; j++) this.h[base + j]! += xi * row[j]!;
      }
    }
    this.rows += rows;
  }
  /** Adds a Gram matrix XᵀX [K, K] computed elsewhere (by ORT) over `rows` rows. */
  addGram(gram: ArrayLike<number>, rows: number): void {
    const k = this.k;
    for (let i = 0; i < k; i++) for (let j = i; j < k; j++) this.h[i * k + j]! += gram[i * k + j]!;
    this.rows += rows;
  }
  /** The symmetric Hessian 2·XᵀX / rows. */
  hessian(): Float64Array {
    const k = this.k;
    const out = new Float64Array(k * k);
    const f = this.rows ? 2 / this.rows : 0;
    for (let i = 0; i < k; i++)
      for (let j = i; j < k; j++) {
        const v = this.h[i * k + j]! * f;
        out[i * k + j] = v;
        out[j * k + i] = v;
      }
    return out;
  }
}

/** In-place lower Cholesky factor of a symmetric positive definite matrix; false if not SPD. */
function cholesky(a: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j]!;
    for (let p = 0; p < j; p++) d -= a[j * k + p]! ** 2;
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    a[j * k + j] = l;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j]!;
      for (let p = 0; p < j; p++) s -= a[i * k + p]! * a[j * k + p]!;
      a[i * k + j] = s / l;
    }
    for (let p = j + 1; p < k; p++) a[j * k + p] = 0;
  }
  return true;
}

/**
 * Upper triangular U with H⁻¹ = UᵀU, from one Cholesky factorization: with J the index reversal,
 * J·H·J = L′L′ᵀ gives H = V·Vᵀ for the upper V = J·L′·J, so H⁻¹ = (V⁻¹)ᵀ(V⁻¹) and U = V⁻¹ = J·L′⁻¹·J.
 */
function inverseCholeskyUpper(h: Float64Array, k: number): Float64Array | undefined {
  const l = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) l[i * k + j] = h[(k - 1 - i) * k + (k - 1 - j)]!;
  if (!cholesky(l, k)) return undefined;
  // M = L′⁻¹ by forward substitution, stored transposed (mt[c·k + i] = M[i][c]) so the inner loop runs
  // over contiguous memory.
  const mt = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    const col = c * k;
    mt[col + c] = 1 / l[c * k + c]!;
    for (let i = c + 1; i < k; i++) {
      const row = i * k;
      let s = 0;
      for (let p = c; p < i; p++) s -= l[row + p]! * mt[col + p]!;
      mt[col + i] = s / l[row + i]!;
    }
  }
  // U[i][j] = M[k−1−i][k−1−j] = mt[(k−1−j)·k + (k−1−i)], non-zero for j ≥ i.
  const u = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = i; j < k; j++) u[i * k + j] = mt[(k - 1 - j) * k + (k - 1 - i)]!;
  return u;
}

export interface GptqOptions {
  blockSize: number;
  symmetric: boolean;
  /** Dampening added to the diagonal, as a fraction of its mean (default 0.01). */
  damp?: number;
}

/** What GPTQ needs of a Hessian, computed once per layer input and shared by the layers that read it. */
export interface GptqFactor {
  k: number;
  /** Upper Cholesky factor of the dampened inverse Hessian. */
  u: Float64Array;
  /** Inputs that never fire (zero diagonal): their weights carry nothing and are set to 0. */
  dead: Uint8Array;
}

export function gptqFactor(hessian: Float64Array, k: number, dampFraction = 0.01): GptqFactor {
  const h = Float64Array.from(hessian);
  const dead = new Uint8Array(k);
  let mean = 0;
  for (let i = 0; i < k; i++) {
    if (h[i * k + i] === 0) {
      h[i * k + i] = 1;
      dead[i] = 1;
    }
    mean += h[i * k + i]! / k;
  }
  let damp = dampFraction * mean;
  for (let tries = 0; tries < 6; tries++, damp *= 10) {
    const hd = Float64Array.from(h);
    for (let i = 0; i < k; i++) hd[i * k + i]! += damp;
    const u = inverseCholeskyUpper(hd, k);
    if (u) return { k, u, dead };
  }
  throw new Error('GPTQ: the Hessian could not be factored even with dampening');
}

/** GPTQ quantization of wT [N, K] given the Hessian [K, K] of the layer's inputs (or its factor). */
export function quantizeBlocksGptq(wT: Float32Array, n: number, k: number, hessian: Float64Array | GptqFactor, opts: GptqOptions): BlockQuant {
  const { blockSize, symmetric } = opts;
  const factor = hessian instanceof Float64Array ? gptqFactor(hessian, k, opts.damp) : hessian;
  const u = factor.u;
  const w = Float64Array.from(wT);
  for (let i = 0; i < k; i++) if (factor.dead[i]) for (let r = 0; r < n; r++) w[r * k + i] = 0;

  const nb = blockCount(k, blockSize);
  const kp = nb * blockSize;
  const codes = new Uint8Array(n * kp);
  const scales = new Float32Array(n * nb);
  const zeroPoints = new Uint8Array(n * nb);
  const err = new Float64Array(n);
  for (let i = 0; i < k; i++) {
    const blk = (i / blockSize) | 0;
    if (i % blockSize === 0) {
      // The block's grid comes from its weights as updated so far.
      const to = Math.min(k, i + blockSize);
      for (let r = 0; r < n; r++) {
        const { scale, zp } = blockParams(w, r * k + i, r * k + to, symmetric);
        scales[r * nb + blk] = scale;
        zeroPoints[r * nb + blk] = zp;
      }
    }
    const d = u[i * k + i]!;
    for (let r = 0; r < n; r++) {
      const s = scales[r * nb + blk]!;
      const zp = zeroPoints[r * nb + blk]!;
      const c = quantCode(w[r * k + i]!, s, zp);
      codes[r * kp + i] = c;
      err[r] = (w[r * k + i]! - (c - zp) * s) / d;
    }
    for (let r = 0; r < n; r++) {
      const e = err[r]!;
      if (e === 0) continue;
      const row = r * k;
      const ui = i * k;
      for (let j = i + 1; j < k; j++) w[row + j]! -= e * u[ui + j]!;
    }
  }
  for (let r = 0; r < n; r++) for (let i = k; i < kp; i++) codes[r * kp + i] = zeroPoints[r * nb + ((i / blockSize) | 0)]!;
  return { n, k, blockSize, nBlocks: nb, codes, scales, zeroPoints, symmetric };
}
