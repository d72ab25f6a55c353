// A pool of inference worker threads, each with its own ORT sessions. The pool does not queue: the
// scheduler gives a job to a free slot. A worker that dies is replaced and its job fails; the others go on.

import { Worker } from 'node:worker_threads';
import { EdgefitError } from '../onnx/errors.js';
import type { FeedOptions } from '../runtime/inputs.js';
import type { SessionOptions } from '../runtime/session.js';
import type { FromWorker, ModelIo, ToWorker, WireTensors, WorkerModel } from './wire.js';
import { transferList } from './wire.js';

export interface PoolOptions {
  workers: number;
  models: WorkerModel[];
  session: SessionOptions;
}

export interface RunResult {
  outputs: WireTensors;
  computeMs: number;
}

/** Runs jobs on slots; the scheduler's view of the pool (tests pass a fake). */
export interface Executor {
  readonly slots: number;
  run(slot: number, model: string, feeds: WireTensors): Promise<RunResult>;
}

/** A failure of ORT on a request's inputs (not a crash). */
export class RunFailed extends Error {}

interface Pending {
  resolve: (r: RunResult) => void;
  reject: (e: Error) => void;
}

/** Starts a worker from compiled .js, or from the .ts sources through tsx (worker threads do not inherit its loader). */
function spawn(): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./worker.js', self));
  const entry = new URL('./worker.ts', self).href;
  const api = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

export class WorkerPool implements Executor {
  private workers: Worker[] = [];
  private pending = new Map<number, Pending>();
  private jobSlot = new Map<number, number>();
  private nextJob = 1;
  private closing = false;
  io: Record<string, ModelIo> = {};
  private warmWaiters: ((m: Extract<FromWorker, { type: 'warm' }>) => void)[] = [];
  private loadErrors: ((e: Error) => void)[] = [];

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
    const w = spawn();
    this.workers[slot] = w;
    return new Promise((resolve, reject) => {
      let ready = false;
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') (ready = true), resolve(m);
        else if (m.type === 'fatal') {
          const e = new EdgefitError(m.message, m.code ?? 'E_SERVE_LOAD', m.hint);
          if (ready) for (const f of this.loadErrors.splice(0)) f(e);
          else reject(e);
        } else if (m.type === 'warm') this.warmWaiters.shift()?.(m);
        else this.settle(m);
      });
      w.on('error', (e) => (ready ? this.failSlot(slot, e) : reject(e)));
      w.on('exit', (code) => {
        if (!ready) reject(new Error(`inference worker exited with code ${code} while loading`));
        else if (!this.closing) this.failSlot(slot, new Error(`inference worker exited with code ${code}`));
      });
      const load: ToWorker = { type: 'load', models: this.opts.models, session: this.opts.session };
      w.postMessage(load);
    });
  }

  /** The worker of a slot died: its job fails, a new worker takes the slot (without warm-up runs). */
  private failSlot(slot: number, e: Error): void {
    for (const [job, s] of this.jobSlot)
      if (s === slot) {
        this.pending.get(job)?.reject(e);
        this.pending.delete(job);
        this.jobSlot.delete(job);
      }
    if (this.closing) return;
    this.startWorker(slot).catch(() => {
      // a worker that cannot even load again leaves its slot dead; the others go on
    });
  }

  private settle(m: FromWorker): void {
    if (m.type !== 'done' && m.type !== 'failed') return;
    const p = this.pending.get(m.job);
    this.pending.delete(m.job);
    this.jobSlot.delete(m.job);
    if (!p) return;
    if (m.type === 'done') p.resolve({ outputs: m.outputs, computeMs: m.computeMs });
    else p.reject(new RunFailed(m.message));
  }

  /**
   * Warm-up runs on every worker, one worker after the other (so that they do not compete for the
   * cores while timed); returns the times per model id. `feeds` sets input shapes per model id.
   */
  async warmUp(runs: number, feeds: Record<string, FeedOptions>): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = {};
    for (const w of this.workers) {
      const got = await new Promise<Extract<FromWorker, { type: 'warm' }>>((resolve, reject) => {
        this.warmWaiters.push(resolve);
        this.loadErrors.push(reject);
        const msg: ToWorker = { type: 'warmup', runs, feeds };
        w.postMessage(msg);
      });
      this.loadErrors = [];
      for (const [id, t] of Object.entries(got.warmupMs)) (out[id] ??= []).push(...t);
    }
    return out;
  }

  run(slot: number, model: string, feeds: WireTensors): Promise<RunResult> {
    const w = this.workers[slot];
    if (!w) return Promise.reject(new Error(`no worker in slot ${slot}`));
    const job = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.pending.set(job, { resolve, reject });
      this.jobSlot.set(job, slot);
      const msg: ToWorker = { type: 'run', job, model, feeds };
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
