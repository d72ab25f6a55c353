// A window of recent times that forgets by age as well as by count: an estimate that only some requests
// update (image decodes, which only admitted images make) cannot stay stuck on a slow spell long gone.

import { quantileSorted } from '../bench/stats.js';
import type { Times } from './service-time.js';

export class RecentTimes implements Times {
  private readonly items: { at: number; ms: number }[] = [];
  /** The fresh samples sorted, until one is added or ages out (admission reads this on every request). */
  private sorted: Float64Array | null = null;

  constructor(
    private readonly maxAgeMs = 5000,
    private readonly maxCount = 256,
    private readonly now: () => number = () => performance.now(),
  ) {}

  add(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.items.push({ at: this.now(), ms });
    if (this.items.length > this.maxCount) this.items.shift();
    this.sorted = null;
  }

  /** Samples younger than maxAgeMs. */
  get count(): number {
    return this.fresh().length;
  }

  /** The q-quantile of the fresh samples; 0 when there are none (nothing recent to go by). */
  quantile(q: number): number {
    const f = this.fresh();
    if (!f.length) return 0;
    this.sorted ??= Float64Array.from(f, (x) => x.ms).sort();
    return quantileSorted(this.sorted, q);
  }

  mean(): number {
    const f = this.fresh();
    return f.length ? f.reduce((a, x) => a + x.ms, 0) / f.length : 0;
  }

  private fresh(): { at: number; ms: number }[] {
    const oldest = this.now() - this.maxAgeMs;
    let k = 0;
    while (k < this.items.length && this.items[k]!.at < oldest) k++;
    if (k) {
      this.items.splice(0, k);
      this.sorted = null;
    }
    return this.items;
  }
}
