// The main thread's recent event-loop delay: how late it may stamp a request's arrival or write a reply
// when busy. Sampled every RESOLUTION_MS; each second the p99 of that second becomes the current value.
//
//   const loop = new LoopDelay();  …  loop.recentMs();  …  loop.close();

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 2;

export class LoopDelay {
  private readonly h: IntervalHistogram;
  private readonly timer: ReturnType<typeof setInterval>;
  private last = 0;

  constructor(periodMs = 1000) {
    this.h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.h.enable();
    this.timer = setInterval(() => {
      this.last = this.h.count ? Math.max(0, this.h.percentile(99) / 1e6 - RESOLUTION_MS) : 0;
      this.h.reset();
    }, periodMs);
    this.timer.unref();
  }

  /** The p99 delay (ms) over the last whole period. */
  recentMs(): number {
    return this.last;
  }

  close(): void {
    clearInterval(this.timer);
    this.h.disable();
  }
}
