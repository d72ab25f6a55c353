// How long the scheduler counts on a run taking: the time the deadline sees, from dispatch to the reply
// being written. Per model, a high quantile of its runs' times (dispatch to result on the main thread),
// plus the same quantile of the time answers need after their run, plus a margin for the main thread's
// own delay (it stamps arrivals late and writes replies late by that much).
//
// A rung that rarely runs (the fast model, used only under load) keeps old times in its window. So every
// run also records its slowdown, its time over its model's median at start-up, in one window shared by
// all rungs (seeded with the start-up runs' own spread); a rung's estimate is never below its start-up
// median times the current slowdown.

import type { Rung } from './scheduler.js';
import { ServiceTime, type Times } from './service-time.js';

export interface BudgetOptions {
  /** The quantile a request is admitted and dispatched on (0.99 by default in the scheduler). */
  quantile: number;
  /** Time from a run's result to the reply being written, as measured. */
  afterRun?: Times | undefined;
  /** Main-thread delay to reserve in every budget (ms), read at each decision. */
  margin?: (() => number) | undefined;
}

export class Budgets {
  /** Each rung's median when the scheduler started: what its slowdown is counted against. */
  private readonly base = new Map<Rung, number>();
  /** Recent runs of every rung, each as its time over its rung's base. */
  readonly slowdown = new ServiceTime();

  constructor(
    rungs: readonly Rung[],
    private readonly o: BudgetOptions,
  ) {
    for (const r of rungs) {
      const m = r.time.quantile(0.5);
      if (!(Number.isFinite(m) && m > 0)) continue;
      this.base.set(r, m);
      // start-up runs are the baseline's spread: one slow run later is one among them, not the whole window
      for (const ms of r.time.samples()) this.slowdown.add(ms / m);
    }
  }

  /** A finished run of `r` that took `ms` from dispatch to its result. */
  ran(r: Rung, ms: number): void {
    r.time.add(ms);
    const b = this.base.get(r);
    if (b !== undefined) this.slowdown.add(ms / b);
  }

  /** What a request queued on `r` is expected to take (mean), for the wait of those behind it. */
  mean(r: Rung): number {
    return Math.max(r.time.mean(), this.scaled(r, this.slowdown.count ? this.slowdown.mean() : 0));
  }

  /** What one request on `r` may take, dispatch to reply written, by the quantile. */
  of(r: Rung): number {
    const q = this.o.quantile;
    const run = Math.max(r.time.quantile(q), this.scaled(r, this.slowdown.count ? this.slowdown.quantile(q) : 0));
    return run + this.after() + this.margin();
  }

  /** A batch of `k` whose run time is `t`: its quantile plus each answer's after-run time and the margin. */
  batch(t: ServiceTime, k: number): number {
    return t.quantile(this.o.quantile) + k * this.after() + this.margin();
  }

  private scaled(r: Rung, factor: number): number {
    return (this.base.get(r) ?? 0) * factor;
  }

  private after(): number {
    return this.o.afterRun?.count ? this.o.afterRun.quantile(this.o.quantile) : 0;
  }

  private margin(): number {
    const m = this.o.margin?.() ?? 0;
    return Number.isFinite(m) && m > 0 ? m : 0;
  }
}
