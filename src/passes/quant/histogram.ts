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
  /** Zeros seen before any non-zero value fixed the width. */
  private pendingZeros = 0;

  constructor(readonly maxBins = 4096) {
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
        return;
      }
      // Start with room for 4× the first batch's range: fewer merges later.
      this.width = (4 * absMax) / (this.maxBins / 2);
      this.offset = 0;
      this.counts = new Float64Array(1);
      this.counts[0] = this.pendingZeros;
      this.pendingZeros = 0;
    }
    this.fit(Math.floor(lo / this.width), Math.floor(hi / this.width));
    const w = this.width;
    const off = this.offset;
    const c = this.counts;
    for (let i = 0; i < values.length; i++) c[Math.floor(values[i]! / w) - off]! += 1;
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

  /** Counts of |x| on the grid: bin i covers [i·w, (i+1)·w). */
  absCounts(): Float64Array {
    const lastPos = this.offset + this.counts.length - 1;
    const n = Math.max(lastPos + 1, -this.offset, 1);
    const out = new Float64Array(n);
    for (let k = 0; k < this.counts.length; k++) {
      const i = this.offset + k;
      out[i >= 0 ? i : -i - 1]! += this.counts[k]!;
    }
    return out;
  }

  /** Calibrated range [lo, hi]; always contains 0 so that 0 is exactly representable. */
  range(method: CalibrationMethod, opts: { percentile?: number; levels?: number } = {}): [number, number] {
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
    // entropy: one threshold T on |x|, chosen by KL divergence; one-sided data gets all 256 levels.
    const oneSided = this.min >= 0 || this.max <= 0;
    const t = klThreshold(this.absCounts(), opts.levels ?? (oneSided ? 255 : 128)) * this.width;
    return [Math.max(lo0, -t), Math.min(hi0, t)];
  }
}

/**
 * The number of bins (a threshold in units of the bin width) that minimises KL(P‖Q), where P is the
 * histogram clipped at the threshold (outliers folded into the last bin) and Q is P squeezed into
 * `levels` quantization levels and expanded back (TensorRT's calibration, Migacz 2017).
 */
export function klThreshold(hist: Float64Array, levels: number): number {
  let nb = hist.length;
  while (nb > 0 && hist[nb - 1] === 0) nb--;
  if (nb <= levels) return nb;
  const stride = Math.max(1, Math.floor((nb - levels) / 512));
  const suffix = new Float64Array(nb + 1);
  for (let i = nb - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + hist[i]!;
  let best = nb;
  let bestKl = Infinity;
  const p = new Float64Array(nb);
  const q = new Float64Array(nb);
  for (let i = levels; i <= nb; i += stride) {
    for (let k = 0; k < i; k++) p[k] = hist[k]!;
    p[i - 1]! += suffix[i]!;
    // Q: the unclipped bins merged into `levels` groups, each group's mass spread over its non-empty bins.
    q.fill(0, 0, i);
    for (let g = 0; g < levels; g++) {
      const start = Math.floor((g * i) / levels);
      const end = Math.floor(((g + 1) * i) / levels);
      let mass = 0;
      let nonEmpty = 0;
      for (let k = start; k < end; k++) {
        mass += hist[k]!;
        if (hist[k]) nonEmpty++;
      }
      if (nonEmpty) for (let k = start; k < end; k++) if (hist[k]) q[k] = mass / nonEmpty;
    }
    let ps = 0;
    let qs = 0;
    for (let k = 0; k < i; k++) {
      ps += p[k]!;
      qs += q[k]!;
    }
    let kl = 0;
    for (let k = 0; k < i; k++) {
      const pk = p[k]! / ps;
      if (pk === 0) continue;
      const qk = q[k]! / qs;
      kl += pk * Math.log(pk / Math.max(qk, 1e-12));
    }
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best;
}
