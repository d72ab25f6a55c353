// A pool of inference worker threads, each with its own ORT sessions. The pool does not queue: the
// scheduler gives a job to a free slot. A worker that dies is replaced and its job fails; the others go
// on. The replacement loads its models and runs a few warm-up inferences (not counted as service times)
// before its slot takes work again.

import type { Worker } from 'node:worker_threads';
import { EdgefitError } from '../onnx/errors.js';
import type { FeedOptions } from '../runtime/inputs.js';
import type { SessionOptions } from '../runtime/session.js';
import type { FromWorker, ModelIo, ToWorker, WireTensors, WorkerModel } from './wire.js';
import { transferList } from './wire.js';
import { spawnWorker } from './spawn-worker.js';
import type { WorkerPriority } from './nice.js';
import type { Decoded } from './decode-result.js';
import type { OutputSpec } from '../data/spec.js';

export interface PoolOptions {
  workers: number;
  models: WorkerModel[];
  session: SessionOptions;
  /** Untimed warm-up runs per model a respawned worker does before it takes work (default 3). */
  respawnWarmup?: number;
  /** How much nicer each worker's thread is than the process (default 0: the same), or 'idle' (SCHED_IDLE). */
  nice?: WorkerPriority;
}

/** A respawned worker back at work: its warm-up times (ms per model id), which no service time counts. */
export interface SlotUp {
  slot: number;
  warmupMs: Record<string, number[]>;
}

export interface RunResult {
  outputs: WireTensors;
  computeMs: number;
  /** The answers decoded on the worker, one per row group asked for (then `outputs` is empty). */
  decoded?: Decoded[];
}

/** Runs jobs on slots; the scheduler's view of the pool (tests pass a fake). */
export interface Executor {
  readonly slots: number;
  /** `decodeRows`: the answers decoded on the worker, one per group of these batch rows, where it can (one entry: the whole output). */
  run(slot: number, model: string, feeds: WireTensors, decodeRows?: number[]): Promise<RunResult>;
  /** While a slot takes no work (its worker restarting): when it is expected back (ms, performance.now); else undefined. */
  downUntil?(slot: number): number | undefined;
  /** Called each time a slot that was down takes work again. */
  onSlotUp?(f: (up: SlotUp) => void): void;
}

/** A failure of ORT on a request's inputs (not a crash). */
export class RunFailed extends Error {}

interface Pending {
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

/** A respawn not measured yet is expected to take this long (ms) before its slot is back. */
const FIRST_RESPAWN_GUESS_MS = 2000;

export class WorkerPool implements Executor {
  private workers: Worker[] = [];
  /** The decoder message every worker gets (set once the engine knows the task). */
  private decoder: Extract<ToWorker, { type: 'decoder' }> | undefined;
  private pending = new Map<number, Pending>();
  private jobSlot = new Map<number, number>();
  private nextJob = 1;
  private closing = false;
  io: Record<string, ModelIo> = {};
  /** Input shapes of the warm-up runs per model id (set by warmUp, or by the engine when it skips it). */
  warmFeeds: Record<string, FeedOptions> = {};
  private warmWaiters = new Map<number, (m: Extract<FromWorker, { type: 'warm' }>) => void>();
  private loadErrors = new Map<number, (e: Error) => void>();
  /** Slots whose worker is restarting, with when they went down; and how long the last restart took. */
  private down = new Map<number, number>();
  private respawnMs = FIRST_RESPAWN_GUESS_MS;
  private upListeners: ((up: SlotUp) => void)[] = [];

  private constructor(private readonly opts: PoolOptions) {}

  get slots(): number {
    return this.opts.workers;
  }

  static async start(opts: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(opts);
    try {
      const ready = await Promise.all(Array.from({ length: opts.workers }, (_, k) => pool.startWorker(k)));
      pool.io = ready[0]!.io;
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  private startWorker(slot: number): Promise<Extract<FromWorker, { type: 'ready' }>> {
    const w = spawnWorker('worker');
    this.workers[slot] = w;
    return new Promise((resolve, reject) => {
      let ready = false;
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') (ready = true), resolve(m);
        else if (m.type === 'fatal') {
          const e = new EdgefitError(m.message, m.code ?? 'E_SERVE_LOAD', m.hint);
          if (ready) this.loadErrors.get(slot)?.(e);
          else reject(e);
        } else if (m.type === 'warm') this.warmWaiters.get(slot)?.(m);
        else this.settle(m);
      });
      // a replaced worker's last events (its 'exit' after its 'error') concern the slot no more
      const current = () => this.workers[slot] === w;
      w.on('error', (e) => (!ready ? reject(e) : current() && this.failSlot(slot, e)));
      w.on('exit', (code) => {
        if (!ready) reject(new Error(`inference worker exited with code ${code} while loading`));
        else if (!this.closing && current()) this.failSlot(slot, new Error(`inference worker exited with code ${code}`));
      });
      const load: ToWorker = { type: 'load', models: this.opts.models, session: this.opts.session, ...(this.opts.nice ? { nice: this.opts.nice } : {}) };
      w.postMessage(load);
      if (this.decoder) w.postMessage(this.decoder);
    });
  }

  /** The task's output decoding, for every worker now and every respawned one: runs asked to decode answer with the result only. */
  setDecoder(output: OutputSpec, baseDir?: string, ignoreWhitespace = false): void {
    this.decoder = { type: 'decoder', output, ignoreWhitespace, ...(baseDir ? { baseDir } : {}) };
    for (const w of this.workers) w.postMessage(this.decoder);
  }

  /**
   * The worker of a slot died: its job fails and the slot takes no work while a new worker loads and
   * warms up; then it is back, and the listeners hear of it.
   */
  private failSlot(slot: number, e: Error): void {
    for (const [job, s] of this.jobSlot)
      if (s === slot) {
        this.pending.get(job)?.reject(e);
        this.pending.delete(job);
        this.jobSlot.delete(job);
      }
    // a worker that dies while warming up fails its warm-up (at start: the engine's start fails)
    this.loadErrors.get(slot)?.(e);
    if (this.closing || this.down.has(slot)) return;
    const t0 = performance.now();
    this.down.set(slot, t0);
    this.startWorker(slot)
      .then(() => this.warmSlot(slot, this.opts.respawnWarmup ?? 3))
      .then((warmupMs) => {
        if (this.closing) return;
        this.respawnMs = performance.now() - t0;
        this.down.delete(slot);
        for (const f of this.upListeners) f({ slot, warmupMs });
      })
      .catch(() => {
        // a worker that cannot even load again leaves its slot down for good; the others go on
        this.down.set(slot, Infinity);
      });
  }

  downUntil(slot: number): number | undefined {
    const since = this.down.get(slot);
    return since === undefined ? undefined : since + this.respawnMs;
  }

  onSlotUp(f: (up: SlotUp) => void): void {
    this.upListeners.push(f);
  }

  /** Ends a slot's worker as a crash would (tests; a stuck worker): its job fails, a new one takes over. */
  async terminateWorker(slot: number): Promise<void> {
    await this.workers[slot]?.terminate();
  }

  private settle(m: FromWorker): void {
    if (m.type !== 'done' && m.type !== 'failed') return;
    const p = this.pending.get(m.job);
    this.pending.delete(m.job);
    this.jobSlot.delete(m.job);
    if (!p) return;
    if (m.type === 'done') p.resolve({ outputs: m.outputs, computeMs: m.computeMs, ...(m.decoded ? { decoded: m.decoded } : {}) });
    else p.reject(new RunFailed(m.message));
  }

  /**
   * Warm-up runs on every worker, one worker after the other (so that they do not compete for the
   * cores while timed); returns the times per model id. `feeds` sets input shapes per model id; they are
   * remembered for the warm-up of a respawned worker unless `remember` is false (batch measurements).
   */
  async warmUp(runs: number, feeds: Record<string, FeedOptions>, remember = true): Promise<Record<string, number[]>> {
    if (remember) this.warmFeeds = feeds;
    const out: Record<string, number[]> = {};
    for (let slot = 0; slot < this.workers.length; slot++)
      for (const [id, t] of Object.entries(await this.warmSlot(slot, runs, feeds))) out[id] = [...(out[id] ?? []), ...t];
    return out;
  }

  /**
   * One worker's warm-up: an untimed run, then `runs` timed ones per model, on `feeds` (a respawned
   * worker: the remembered warm-up inputs); their times per model id.
   */
  private async warmSlot(slot: number, runs: number, feeds: Record<string, FeedOptions> = this.warmFeeds): Promise<Record<string, number[]>> {
    const w = this.workers[slot]!;
    try {
      const got = await new Promise<Extract<FromWorker, { type: 'warm' }>>((resolve, reject) => {
        this.warmWaiters.set(slot, resolve);
        this.loadErrors.set(slot, reject);
        const msg: ToWorker = { type: 'warmup', runs, feeds };
        w.postMessage(msg);
      });
      return got.warmupMs;
    } finally {
      this.warmWaiters.delete(slot);
      this.loadErrors.delete(slot);
    }
  }

  run(slot: number, model: string, feeds: WireTensors, decodeRows?: number[]): Promise<RunResult> {
    const w = this.workers[slot];
    if (!w) return Promise.reject(new Error(`no worker in slot ${slot}`));
    if (this.down.has(slot)) return Promise.reject(new Error(`the worker in slot ${slot} is restarting`));
    // node drops, without a word, a message whose transfer list holds a buffer already handed over:
    // the run would never answer
    const spent = Object.entries(feeds).find(([, t]) => t.data.length === 0 && t.dims.every((d) => d > 0));
    if (spent)
      return Promise.reject(new Error(`input '${spent[0]}' has no data: its buffer was handed to a worker by an earlier run; give each run its own copy`));
    const job = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.pending.set(job, { resolve, reject });
      this.jobSlot.set(job, slot);
      const msg: ToWorker = { type: 'run', job, model, feeds, ...(decodeRows ? { decodeRows } : {}) };
      w.postMessage(msg, transferList(feeds));
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w?.terminate()));
    for (const p of this.pending.values()) p.reject(new Error('the worker pool closed'));
    this.pending.clear();
  }
}
