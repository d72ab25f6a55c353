// A streaming histogram of one tensor's values, and the three ways to turn it into a quantization
// range (min-max, percentile, entropy/KL). Memory is fixed whatever the number of samples: bins sit on
// a grid anchored at 0 (bin i covers [i·w, (i+1)·w)), and when values fall outside, the width doubles
// and pairs of bins merge, which is exact because floor(floor(x/w)/2) = floor(x/2w).

export type CalibrationMethod = 'minmax' | 'percentile' | 'entropy';

export class StreamingHistogram {
  /** Bin width; 0 until the first non-zero value. */
  width = 0;
  /** Grid index of counts[0]. */
  offset = 0;
  counts: Float64Array;
  min = Infinity;
  max = -Infinity;
  total = 0;
  /** Values exactly 0 (in bin 0 too): the quantized grid holds 0 exactly, so they cost no error. */
  zeros = 0;
  /** Zeros seen before any non-zero value fixed the width. */
  private pendingZeros = 0;

  constructor(readonly maxBins = 8192) {
    if (maxBins < 16 || maxBins % 2) throw new Error('maxBins must be even and ≥ 16');
    this.counts = new Float64Array(0);
  }

  add(values: ArrayLike<number>): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(lo <= hi)) return; // empty or all NaN
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new Error('calibration data holds Inf or NaN values');
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    this.total += values.length;
    const absMax = Math.max(Math.abs(lo), Math.abs(hi));
    if (this.width === 0) {
      if (absMax === 0) {
        this.pendingZeros += values.length;
        this.zeros += values.length;
        return;
      }
      // The first batch spans half the bins (a quarter per side): room to grow 2× before the first merge,
      // and ≥ maxBins/4 bins across the larger side after any number of merges.
      this.width = absMax / (this.maxBins / 4);
      this.offset = 0;
      this.counts = new Float64Array(1);
      this.counts[0] = this.pendingZeros;
      this.pendingZeros = 0;
    }
    this.fit(Math.floor(lo / this.width), Math.floor(hi / this.width));
    const w = this.width;
    const off = this.offset;
    const c = this.counts;
    let zeros = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v === 0) zeros++;
      c[Math.floor(v / w) - off]! += 1;
    }
    this.zeros += zeros;
  }

  /** Grows the grid (doubling the width as needed) so that indices lo..hi have bins. */
  private fit(lo: number, hi: number): void {
    let first = Math.min(lo, this.offset);
    let last = Math.max(hi, this.offset + this.counts.length - 1);
    let shift = 0;
    while (last - first + 1 > this.maxBins) {
      first = Math.floor(first / 2);
      last = Math.floor(last / 2);
      shift++;
    }
    if (shift === 0 && first === this.offset && last === this.offset + this.counts.length - 1) return;
    const next = new Float64Array(last - first + 1);
    const div = 2 ** shift;
    for (let k = 0; k < this.counts.length; k++) {
      const n = this.counts[k]!;
      if (n) next[Math.floor((this.offset + k) / div) - first]! += n;
    }
    this.counts = next;
    this.offset = first;
    this.width *= div;
  }

  /** The value below which a fraction q of the samples lie (linear inside a bin, clamped to min/max). */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    if (this.width === 0) return 0;
    const target = q * this.total;
    let acc = 0;
    for (let k = 0; k < this.counts.length; k++) {
      const n = this.counts[k]!;
      if (acc + n >= target && n > 0) {
        const left = (this.offset + k) * this.width;
        const v = left + ((target - acc) / n) * this.width;
        return Math.min(this.max, Math.max(this.min, v));
      }
      acc += n;
    }
    return this.max;
  }

  /**
   * The histogram with pairs of bins merged (exactly, on the grid) until the occupied bins hold at
   * least `minPerBin` values on average. The KL search compares bin counts; on sparse counts it reads
   * sampling noise as quantization loss (that noise adds about (bins − levels) / 2N to the divergence,
   * less for narrower windows), so with few values it clips ever harder. At 32 values per bin the
   * noise term stays under 1/64 nat. With few values this leaves fewer bins than levels, and the KL
   * search then keeps the full range: too little data to justify clipping.
   */
  coarsened(minPerBin: number): { counts: Float64Array; offset: number; width: number } {
    let counts = this.counts;
    let offset = this.offset;
    let width = this.width;
    // Exact zeros (a Relu's spike) sit in one bin and say nothing about how sparse the rest is.
    const occupied = (c: Float64Array, off: number) => c.reduce((n, v, k) => n + ((off + k === 0 ? v - this.zeros : v) > 0 ? 1 : 0), 0);
    while (counts.length > 1 && this.total - this.zeros < minPerBin * occupied(counts, offset)) {
      const first = Math.floor(offset / 2);
      const last = Math.floor((offset + counts.length - 1) / 2);
      const next = new Float64Array(last - first + 1);
      for (let k = 0; k < counts.length; k++) next[Math.floor((offset + k) / 2) - first]! += counts[k]!;
      // Bins −1 and 0 never merge (they straddle zero): with fewer values than minPerBin on both sides
      // of zero, merging would go on for ever.
      if (next.length >= counts.length) break;
      counts = next;
      offset = first;
      width *= 2;
    }
    return { counts, offset, width };
  }

  /** Calibrated range [lo, hi]; always contains 0 so that 0 is exactly representable. */
  range(method: CalibrationMethod, opts: { percentile?: number; levels?: number; minPerBin?: number } = {}): [number, number] {
    if (this.total === 0) return [0, 0];
    const lo0 = Math.min(0, this.min);
    const hi0 = Math.max(0, this.max);
    if (method === 'minmax' || this.width === 0) return [lo0, hi0];
    if (method === 'percentile') {
      const p = opts.percentile ?? 99.99;
      const tail = (1 - p / 100) / (this.min < 0 && this.max > 0 ? 2 : 1);
      const lo = this.min < 0 ? this.quantile(tail) : 0;
      const hi = this.max > 0 ? this.quantile(1 - tail) : 0;
      return [Math.min(0, lo), Math.max(0, hi)];
    }
    // entropy: the clipping window with the least KL divergence, on the signed histogram and with the
    // real code grid (asymmetric, `levels` codes over the clipped range), so one-sided tensors such as
    // HardSwish outputs ([-0.375, max]) get the resolution they will actually have.
    const { counts, offset, width } = this.coarsened(opts.minPerBin ?? 32);
    const [a, b] = klWindow(counts, offset, opts.levels ?? 256, this.zeros);
    return [Math.min(0, Math.max(lo0, a * width)), Math.max(0, Math.min(hi0, b * width))];
  }
}

/**
 * KL-divergence calibration (TensorRT's, Migacz 2017), on a signed histogram whose bin j covers
 * [j·w, (j+1)·w) and `counts[k]` holds bin `offset + k`. Candidate windows clip |x| at i bins: bins
 * a = max(first, −i) … b = min(last, i − 1). For each, P is the histogram inside the window with the
 * outliers folded into its end bins; Q is the window's (unfolded) histogram merged into `levels` equal
 * groups (the codes of an asymmetric 8-bit grid over the clipped range) and spread back evenly over
 * the bins where P is non-zero. The window with the least KL(P‖Q) wins (the wider one on ties).
 * Windows narrower than `levels` bins are not tried: there the histogram cannot tell what quantization
 * loses, so a histogram with fewer bins than levels keeps its full range.
 * `zeros` of the values in bin 0 are exactly 0 (a Relu's or HardSwish's spike): every grid holds 0
 * exactly, so Q keeps them in place and spreads only the rest of that group (otherwise the spike,
 * smeared over its group, would dominate the divergence and favour narrow windows).
 * Returns the window's bounds in units of w: [a, b + 1].
 *
 * Each candidate costs O(levels): group masses, non-zero counts and Σ c·log c come from prefix sums.
 */
export function klWindow(counts: Float64Array, offset: number, levels: number, zeros = 0): [number, number] {
  let lo = 0;
  let hi = counts.length - 1;
  while (lo <= hi && counts[lo] === 0) lo++;
  while (hi >= lo && counts[hi] === 0) hi--;
  if (lo > hi) return [0, 0];
  const first = offset + lo;
  const last = offset + hi;
  if (last - first + 1 <= levels) return [first, last + 1];
  // Prefix sums over grid index j (array index j - first + 1).
  const len = last - first + 1;
  const cum = new Float64Array(len + 1);
  const nz = new Float64Array(len + 1);
  const clogc = new Float64Array(len + 1);
  for (let k = 0; k < len; k++) {
    const c = counts[lo + k]!;
    cum[k + 1] = cum[k]! + c;
    nz[k + 1] = nz[k]! + (c > 0 ? 1 : 0);
    clogc[k + 1] = clogc[k]! + (c > 0 ? c * Math.log(c) : 0);
  }
  const total = cum[len]!;
  const h = (j: number): number => counts[j - offset]!;
  const sum = (arr: Float64Array, a: number, b: number): number => (b < a ? 0 : arr[b - first + 1]! - arr[a - first]!); // over grid a..b
  const xlogx = (x: number): number => (x > 0 ? x * Math.log(x) : 0);
  const iMax = Math.max(last + 1, -first);
  let best: [number, number] = [first, last + 1];
  let bestKl = Infinity;
  for (let i = iMax; i >= 1; i--) {
    const a = Math.max(first, -i);
    const b = Math.min(last, i - 1);
    const n = b - a + 1;
    if (n < levels) break; // narrower windows only get narrower
    const below = a > first ? sum(cum, first, a - 1) : 0;
    const above = b < last ? sum(cum, b + 1, last) : 0;
    const pa = h(a) + below;
    const pb = h(b) + above;
    // Σ P·log P (unnormalised): interior bins from the prefix sums, the two end bins directly.
    const pLogP = sum(clogc, a + 1, b - 1) + xlogx(pa) + (b > a ? xlogx(pb) : 0);
    // Σ P·log q over the groups; q is constant (group mass / non-zero bins of P) inside a group.
    let pLogQ = 0;
    let qTotal = 0;
    let penalty = 0;
    for (let g = 0; g < levels; g++) {
      const s = a + Math.floor((g * n) / levels);
      const e = a + Math.floor(((g + 1) * n) / levels) - 1;
      if (e < s) continue;
      const mass = sum(cum, s, e);
      let nonZero = sum(nz, s, e);
      let pMass = mass;
      // The end bins hold the folded outliers: non-zero in P even where the histogram is empty there.
      if (s === a && below > 0) {
        if (h(a) === 0) nonZero++;
        pMass += below;
      }
      if (e === b && above > 0) {
        if (h(b) === 0) nonZero++;
        pMass += above;
      }
      qTotal += mass;
      if (pMass === 0) continue;
      if (zeros > 0 && s <= 0 && 0 <= e) {
        // The group holding 0: its exact zeros stay in bin 0 (q = p for them); the rest of the group's
        // mass spreads over the bins where P, less those zeros, is non-zero.
        const p0 = h(0) + (a === 0 ? below : 0) + (b === 0 ? above : 0);
        const rest = mass - zeros;
        const restBins = nonZero - 1 + (p0 > zeros ? 1 : 0);
        const share = restBins > 0 && rest > 0 ? rest / restBins : 0;
        pLogQ += p0 * Math.log(zeros + (p0 > zeros ? share : 0));
        const pOther = pMass - p0;
        if (pOther > 0) {
          if (share === 0) penalty += pOther;
          else pLogQ += pOther * Math.log(share);
        }
        continue;
      }
      if (mass === 0) {
        penalty += pMass; // P has mass the quantized Q has none of
        continue;
      }
      pLogQ += pMass * Math.log(mass / nonZero);
    }
    // KL = Σ p log p − Σ p log q with p = P/total, q = Q/qTotal; P with no Q under it is costed as if
    // q were a 1e-6 share (the smoothing that keeps the divergence finite).
    const kl = (pLogP - pLogQ) / total - Math.log(total) + Math.log(qTotal) + (penalty / total) * Math.log(1e6);
    if (kl < bestKl - 1e-12) {
      bestKl = kl;
      best = [a, b + 1];
    }
  }
  return best;
}
