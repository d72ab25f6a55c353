// The request queue in front of the workers: admission at arrival (which ladder model, or refuse),
// a bounded FIFO, dispatch to the first free worker, and the drop of a request whose deadline passes
// while it waits. With admission off it is a plain bounded FIFO on the first model, for comparison.

import { admit, predictStart, type Decision } from './admission.js';
import type { Executor, RunResult } from './worker-pool.js';
import type { ServiceTime, Times } from './service-time.js';
import { batchKey, pickBatch, splitOutputs, stackFeeds } from './batch.js';
import type { WireTensors } from './wire.js';
import type { Decoded } from './decode-result.js';
import { Budgets } from './budget.js';
import { RecentTimes } from './recent-times.js';

export interface Rung {
  id: string;
  time: ServiceTime;
  /** Micro-batching: the service time of a batch of k (k ≥ 2), for the sizes measured to help. */
  batch?: Map<number, ServiceTime>;
}

export interface SchedulerOptions {
  /** The ladder, most accurate first. */
  rungs: Rung[];
  /** Quantile of the service time a request is admitted on (default 0.99). */
  quantile?: number;
  /** Most requests waiting (default 64). */
  maxQueue?: number;
  /** Most requests run as one batch, on rungs that have batch times (default 1: no batching). */
  maxBatch?: number;
  /** false: plain FIFO on the first model, no prediction, no drops (default true). */
  admission?: boolean;
  now?: () => number;
  /**
   * Time an answer still needs on the main thread after its run (decoding the output, writing the
   * reply), as a distribution; its quantile is added to every model's budget. Default none.
   */
  afterRun?: Times;
  /** Main-thread delay (ms) reserved in every budget, read at each decision (the server's recent event-loop delay). */
  margin?: () => number;
}

export interface Submit {
  feeds: WireTensors;
  /** Absolute time (on the scheduler's clock) by which the answer is due. */
  deadline: number;
  /** First and last rung the request may use (default the whole ladder). */
  from?: number;
  to?: number;
  /** The start predicted when it was admitted on its headers (Decision.predictedStart), if it was. */
  earlyStart?: number;
  /** The answer wanted is the decoded result (an image request): the worker decodes it where it can. */
  decode?: boolean;
}

/** What a decision on the headers alone knows of the work before the request can start. */
export interface EarlyView {
  /** Requests admitted but not queued yet (images being decoded): each is taken as a run of the fastest rung. */
  ahead: number;
  /** The request's own input is ready only this much later (its image still to decode). */
  readyInMs: number;
}

export type Outcome =
  | ({ kind: 'served'; rung: number; model: string; degraded: boolean; queueMs: number; batch?: number; decoded?: Decoded } & Omit<RunResult, 'decoded'> &
      Dispatch)
  | { kind: 'shed'; reason: 'deadline' | 'queue-full'; retryAfterMs: number }
  | { kind: 'deadline-missed'; queueMs: number };

/** How a run went as the main thread saw it (ms): what the dispatch rule had and what the run took. */
export interface Dispatch {
  /** Dispatch to the result back on the main thread (the worker's compute plus both messages and any wait of the main thread). */
  runMs: number;
  /** The deadline minus the dispatch time: what was left when the run started. */
  slackMs: number;
  /** The time the dispatch rule counted on for this run (its rung's quantile plus the after-run quantile). */
  budgetMs: number;
}

interface Job {
  req: Submit;
  /** The rungs it may use, and the one it is set to run on. */
  from: number;
  to: number;
  rung: number;
  degraded: boolean;
  /** When it was queued (queue wait is measured from here; the deadline counts from the request's arrival). */
  arrival: number;
  /** What must agree to share a batch (only computed when batching is on). */
  key?: string;
  resolve: (o: Outcome) => void;
  reject: (e: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
}

export class Scheduler {
  private readonly queue: Job[] = [];
  private readonly busy: ({ startedAt: number; expectedMs: number } | null)[];
  private readonly now: () => number;
  private idleWaiters: (() => void)[] = [];
  readonly quantile: number;
  readonly maxQueue: number;
  readonly admission: boolean;
  readonly budgets: Budgets;
  /**
   * How much later a request's start turned out, once its input was ready, than predicted on its headers
   * (work admitted meanwhile, runs over their mean, a slow decode). Its quantile is added to the
   * prediction on the headers, so that what passes there is rarely refused later, after its upload and
   * decode were paid for. Recent seconds only: only requests admitted on their headers update it.
   */
  readonly slip: RecentTimes;

  constructor(
    private readonly exec: Executor,
    readonly opts: SchedulerOptions,
  ) {
    this.busy = new Array(exec.slots).fill(null);
    this.now = opts.now ?? (() => performance.now());
    this.quantile = opts.quantile ?? 0.99;
    this.maxQueue = opts.maxQueue ?? 64;
    this.admission = opts.admission ?? true;
    this.slip = new RecentTimes(5000, 256, this.now);
    this.budgets = new Budgets(opts.rungs, { quantile: this.quantile, afterRun: opts.afterRun, margin: opts.margin });
    // a respawned worker that finished its warm-up takes the work that waited
    exec.onSlotUp?.(() => this.pump());
  }

  /** When each worker is expected to take its next request; a slot that is down counts from when it is back. */
  private slotsFreeAt(now: number): number[] {
    return this.busy.map((b, slot) => {
      const down = this.exec.downUntil?.(slot);
      if (down !== undefined) return Math.max(down, now);
      return b ? b.startedAt + b.expectedMs : now;
    });
  }

  get depth(): number {
    return this.queue.length;
  }
  get inFlight(): number {
    return this.busy.filter(Boolean).length;
  }
  get rungs(): readonly Rung[] {
    return this.opts.rungs;
  }

  /**
   * What admission would decide for a request arriving now (no side effects). With `early`, the decision
   * is taken on the headers, before the input is read: see EarlyView. The slip quantile is then added to
   * the predicted start.
   */
  decide(deadline: number, from = 0, to = this.opts.rungs.length - 1, early?: EarlyView): Decision {
    const now = this.now();
    const ahead = early?.ahead ?? 0;
    const queuedMs = this.queue.map((j) => this.budgets.mean(this.opts.rungs[j.rung]!));
    const fastest = this.budgets.mean(this.opts.rungs[to]!);
    if (Number.isFinite(fastest)) for (let k = 0; k < ahead; k++) queuedMs.push(fastest);
    const slip = early && this.admission ? this.slip.quantile(this.quantile) : 0;
    const state = { now, slotsFreeAt: this.slotsFreeAt(now), queuedMs, maxQueue: this.maxQueue + ahead, readyAt: now + (early?.readyInMs ?? 0), slipMs: slip };
    if (!this.admission) {
      const start = predictStart(state);
      if (this.queue.length >= this.maxQueue) return { kind: 'shed', reason: 'queue-full', predictedStart: start, retryAfterMs: Math.max(0, start - now) };
      return { kind: 'admit', rung: from, degraded: false, predictedStart: start, predictedDone: start };
    }
    const rungs = this.opts.rungs.slice(0, to + 1).map((r) => ({ id: r.id, budgetMs: this.budgets.of(r) }));
    return admit(state, rungs, deadline, from);
  }

  submit(req: Submit): Promise<Outcome> {
    const arrival = this.now();
    const from = req.from ?? 0;
    const to = req.to ?? this.opts.rungs.length - 1;
    const d = this.decide(req.deadline, from, to);
    if (req.earlyStart !== undefined && this.admission) this.slip.add(Math.max(0, d.predictedStart - req.earlyStart));
    if (d.kind === 'shed') return Promise.resolve({ kind: 'shed', reason: d.reason, retryAfterMs: d.retryAfterMs });
    return new Promise((resolve, reject) => {
      const job: Job = { req, from, to, rung: d.rung, degraded: d.degraded, arrival, resolve, reject };
      if ((this.opts.maxBatch ?? 1) > 1) job.key = batchKey(req.feeds);
      if (this.admission) {
        // answered the moment its deadline passes, not when a worker gets round to it
        job.timer = setTimeout(() => this.expire(job), Math.max(0, req.deadline - this.now()));
      }
      this.queue.push(job);
      this.pump();
    });
  }

  private expire(job: Job): void {
    const at = this.queue.indexOf(job);
    if (at < 0) return;
    this.queue.splice(at, 1);
    job.resolve({ kind: 'deadline-missed', queueMs: this.now() - job.arrival });
  }

  private pump(): void {
    for (let slot = 0; slot < this.busy.length && this.queue.length; slot++) {
      if (this.busy[slot] || this.exec.downUntil?.(slot) !== undefined) continue;
      const job = this.queue.shift()!;
      if (job.timer) clearTimeout(job.timer);
      const now = this.now();
      if (this.admission && !this.recheck(job, now)) {
        job.resolve({ kind: 'deadline-missed', queueMs: now - job.arrival });
        slot--; // the slot is still free
        continue;
      }
      const more = this.takeBatch(job, now);
      if (more.length) this.startBatch(slot, [job, ...more], now);
      else this.start(slot, job, now);
    }
    if (this.queue.length === 0 && this.inFlight === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /**
   * At dispatch the wait is known: the request runs on the most accurate of its rungs that still
   * finishes by the deadline (fewer or more than predicted at arrival); false when none does, or the
   * deadline has passed: an answer after it is worth nothing, so the run is not spent on it.
   */
  private recheck(job: Job, now: number): boolean {
    if (now >= job.req.deadline) return false;
    for (let r = job.from; r <= job.to; r++)
      if (now + this.budgets.of(this.opts.rungs[r]!) <= job.req.deadline) {
        job.rung = r;
        job.degraded = r !== job.from;
        return true;
      }
    return false;
  }

  private start(slot: number, job: Job, now: number): void {
    const rung = this.opts.rungs[job.rung]!;
    this.busy[slot] = { startedAt: now, expectedMs: this.budgets.mean(rung) };
    const queueMs = now - job.arrival;
    const at = { slackMs: job.req.deadline - now, budgetMs: this.budgets.of(rung) };
    this.exec.run(slot, rung.id, job.req.feeds, job.req.decode ? [1] : undefined).then(
      ({ decoded, ...r }) => {
        // the time the deadline sees: from dispatch to the result back here, messages and waits included
        const runMs = this.now() - now;
        this.budgets.ran(rung, runMs);
        this.busy[slot] = null;
        const answer = decoded?.[0] ? { decoded: decoded[0] } : {};
        job.resolve({ kind: 'served', rung: job.rung, model: rung.id, degraded: job.degraded, queueMs, ...r, ...answer, runMs, ...at });
        this.pump();
      },
      (e: Error) => {
        this.busy[slot] = null;
        job.reject(e);
        this.pump();
      },
    );
  }

  /** The queued requests that run with `job` as one batch (taken off the queue), or none. */
  private takeBatch(job: Job, now: number): Job[] {
    const rung = this.opts.rungs[job.rung]!;
    const max = this.opts.maxBatch ?? 1;
    if (max < 2 || !rung.batch?.size || !this.admission) return [];
    const budgets = new Map([...rung.batch].map(([k, t]) => [k, this.budgets.batch(t, k)]));
    const cand = (j: Job) => ({ key: j.key, deadline: j.req.deadline, from: j.from, to: j.to });
    const picked = pickBatch(cand(job), job.rung, this.queue.map(cand), budgets, now, max);
    const jobs = picked.map((i) => this.queue[i]!);
    for (const i of picked.reverse()) this.queue.splice(i, 1);
    for (const j of jobs) {
      if (j.timer) clearTimeout(j.timer);
      j.rung = job.rung;
      j.degraded = job.rung !== j.from;
    }
    return jobs;
  }

  /** One run for several requests: their inputs stacked, each answered with its own rows of the outputs. */
  private startBatch(slot: number, jobs: Job[], now: number): void {
    const rung = this.opts.rungs[jobs[0]!.rung]!;
    const time = rung.batch!.get(jobs.length)!;
    this.busy[slot] = { startedAt: now, expectedMs: time.mean() };
    const { feeds, rows } = stackFeeds(jobs.map((j) => j.req.feeds));
    const budgetMs = this.budgets.batch(time, jobs.length);
    const settle = (e?: Error) => {
      this.busy[slot] = null;
      if (e) for (const j of jobs) j.reject(e);
      this.pump();
    };
    const decodeRows = jobs.every((j) => j.req.decode) ? rows : undefined;
    this.exec.run(slot, rung.id, feeds, decodeRows).then((r) => {
      const runMs = this.now() - now;
      time.add(runMs);
      // one answer per request decoded on the worker, or the tensors split here by rows
      const decoded = r.decoded?.length === jobs.length ? r.decoded : undefined;
      let parts: WireTensors[];
      try {
        parts = decoded ? jobs.map(() => ({})) : splitOutputs(r.outputs, rows);
      } catch (e) {
        return settle(e as Error);
      }
      for (const [i, j] of jobs.entries())
        j.resolve({
          kind: 'served',
          rung: j.rung,
          model: rung.id,
          degraded: j.degraded,
          queueMs: now - j.arrival,
          outputs: parts[i]!,
          ...(decoded ? { decoded: decoded[i]! } : {}),
          computeMs: r.computeMs,
          batch: jobs.length,
          runMs,
          slackMs: j.req.deadline - now,
          budgetMs,
        });
      settle();
    }, settle);
  }

  /** Resolves once nothing is queued or running (new requests may still arrive unless the caller stops them). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }
}
