// A model's service-time distribution, as the admission rule needs it: a high quantile for the request
// being admitted and the mean for the work queued ahead of it. Seeded by warm-up runs (or an optimize
// run's measured quantiles) and kept current with a sliding window of the compute times served.

import { quantileSorted } from '../bench/stats.js';

/** Default window: enough for a stable p99, short enough to follow a change in machine load. */
export const DEFAULT_WINDOW = 256;

/** What a budget reads of a distribution of times (a ServiceTime, or RecentTimes that also forget by age). */
export interface Times {
  readonly count: number;
  add(ms: number): void;
  quantile(q: number): number;
}

export class ServiceTime implements Times {
  private readonly ring: number[] = [];
  private next = 0;
  private sorted: Float64Array | null = null;
  private sum = 0;

  constructor(
    samples: readonly number[] = [],
    private readonly window = DEFAULT_WINDOW,
  ) {
    for (const s of samples) this.add(s);
  }

  /** From published quantiles ({p50, p90, p99, …} in ms): a sample that reproduces them. */
  static fromQuantiles(q: Record<string, number>, window = DEFAULT_WINDOW): ServiceTime {
    const points = Object.entries(q)
      .map(([k, v]) => [Number(k.replace(/^p/, '')) / 100, v] as const)
      .filter(([p, v]) => Number.isFinite(p) && p >= 0 && p <= 1 && Number.isFinite(v) && v >= 0)
      .sort((a, b) => a[0] - b[0]);
    if (points.length === 0) return new ServiceTime([], window);
    const samples: number[] = [];
    for (let i = 0; i < 100; i++) samples.push(interpolate(points, (i + 0.5) / 100));
    return new ServiceTime(samples, Math.max(window, samples.length));
  }

  get count(): number {
    return this.ring.length;
  }

  add(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    if (this.ring.length < this.window) this.ring.push(ms);
    else {
      this.sum -= this.ring[this.next]!;
      this.ring[this.next] = ms;
    }
    this.next = (this.next + 1) % this.window;
    this.sum += ms;
    this.sorted = null;
  }

  /** The times in the window (oldest first once it has wrapped, else in order added). */
  samples(): number[] {
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  /** The q-quantile in ms; Infinity when nothing was measured (an unmeasured model can promise nothing). */
  quantile(q: number): number {
    if (this.ring.length === 0) return Infinity;
    this.sorted ??= Float64Array.from(this.ring).sort();
    return quantileSorted(this.sorted, q);
  }

  mean(): number {
    return this.ring.length ? this.sum / this.ring.length : Infinity;
  }
}

function interpolate(points: readonly (readonly [number, number])[], p: number): number {
  const first = points[0]!;
  const last = points[points.length - 1]!;
  if (p <= first[0]) return first[1];
  if (p >= last[0]) return last[1];
  for (let i = 1; i < points.length; i++) {
    const [p1, v1] = points[i]!;
    const [p0, v0] = points[i - 1]!;
    if (p <= p1) return v0 + ((v1 - v0) * (p - p0)) / (p1 - p0 || 1);
  }
  return last[1];
}
