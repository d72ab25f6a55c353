// One generation of the server's models: the worker pool with its sessions, the measured service times,
// the scheduler, and the task spec that turns images into inputs and outputs into answers. A reload
// starts a new engine beside the old one and swaps them; the old one drains, then closes.

import { UsageError } from '../onnx/errors.js';
import type { SessionOptions } from '../runtime/session.js';
import type { FeedOptions } from '../runtime/inputs.js';
import { inferSpec } from '../data/infer-spec.js';
import type { TaskSpec } from '../data/spec.js';
import { makeDecoder, type Decoder } from './decode-result.js';
import type { LadderModel } from './ladder.js';
import { Scheduler, type Rung } from './scheduler.js';
import { ServiceTime } from './service-time.js';
import { RecentTimes } from './recent-times.js';
import { WorkerPool } from './worker-pool.js';
import { measureBatches } from './batch-measure.js';
import { DEFAULT_WORKER_NICE, type WorkerPriority } from './nice.js';
import type { ModelIo } from './wire.js';

export interface EngineOptions {
  ladder: LadderModel[];
  workers?: number;
  session?: SessionOptions;
  /** Timed warm-up runs per model per worker (default 20); they seed the service times. */
  warmup?: number;
  /**
   * How much nicer the inference threads are than the process (default 5; the server gives its decode
   * threads the same): lower priority than the main thread, which takes
   * every admission decision and writes every refusal, so that a busy compute does not delay them.
   * 0 leaves them as the process.
   */
  workerNice?: WorkerPriority;
  /** Warm-up runs per model of a worker that replaces a crashed one, before it takes work (default 3; not timed into the service times). */
  respawnWarmup?: number;
  quantile?: number;
  /** Main-thread delay (ms) every budget reserves, read at each decision (the server passes its recent event-loop delay). */
  margin?: () => number;
  maxQueue?: number;
  /**
   * Micro-batching: the most requests one run may take (default 1: off). Each size from 2 up is timed at
   * start-up and used only where its time per request beats a single request's (models with a free batch dim).
   */
  maxBatch?: number;
  admission?: boolean;
  /** The task spec for image bodies; inferred for known models when absent. */
  spec?: TaskSpec;
  /** Where the spec's relative paths (dictionary) resolve. */
  baseDir?: string;
  /** Warm-up input shapes by input name (default: the image spec's size, batch 1). */
  shapes?: Record<string, number[]>;
}

export class Engine {
  private constructor(
    readonly pool: WorkerPool,
    readonly scheduler: Scheduler,
    readonly ladder: LadderModel[],
    /** Declared inputs and outputs of each model, by id. */
    readonly io: Record<string, ModelIo>,
    readonly spec: TaskSpec | undefined,
    readonly input: string,
    readonly decoder: Decoder | undefined,
  ) {}

  static async start(o: EngineOptions): Promise<Engine> {
    const pool = await WorkerPool.start({
      workers: o.workers ?? 1,
      models: o.ladder.map((m) => ({ id: m.id, path: m.path })),
      session: o.session ?? {},
      nice: o.workerNice ?? DEFAULT_WORKER_NICE,
      ...(o.respawnWarmup !== undefined ? { respawnWarmup: o.respawnWarmup } : {}),
    });
    try {
      const first = pool.io[o.ladder[0]!.id]!;
      const names = first.inputs.map((i) => i.name).join(',');
      for (const m of o.ladder.slice(1))
        if (pool.io[m.id]!.inputs.map((i) => i.name).join(',') !== names)
          throw new UsageError(
            `the ladder's models take different inputs: ${o.ladder[0]!.id} takes ${names}, ${m.id} takes ${pool.io[m.id]!.inputs.map((i) => i.name).join(',')}`,
            'a ladder holds variants of one model (same inputs and outputs)',
          );
      const spec = fitSpec(o.spec ?? inferSpec({ inputs: first.inputs.map(meta), outputs: first.outputs.map(meta) })?.spec, first);
      const input = spec?.input ?? first.inputs[0]!.name;
      const shapes = o.shapes ?? warmupShapes(spec, input);
      const feeds: Record<string, FeedOptions> = {};
      for (const m of o.ladder) feeds[m.id] = { shapes, batch: 1 };
      // a model with no measured time could never be admitted: it gets a few runs even with warm-up off
      const warm = Math.max(o.warmup ?? 20, o.ladder.some((m) => !m.latency) ? 3 : 0);
      pool.warmFeeds = feeds;
      const times = warm > 0 ? await pool.warmUp(warm, feeds) : {};
      const rungs: Rung[] = o.ladder.map((m) => ({
        id: m.id,
        time: times[m.id]?.length ? new ServiceTime(times[m.id]) : m.latency ? ServiceTime.fromQuantiles(m.latency) : new ServiceTime(),
      }));
      const maxBatch = o.maxBatch ?? 1;
      if (maxBatch > 1) {
        const single = Object.fromEntries(rungs.map((r) => [r.id, r.time]));
        const batches = await measureBatches(pool, { single, io: pool.io, shapes, maxBatch, runs: Math.max(5, warm) });
        for (const r of rungs) if (batches[r.id]) r.batch = batches[r.id];
      }
      const scheduler = new Scheduler(pool, {
        rungs,
        quantile: o.quantile,
        maxQueue: o.maxQueue,
        admission: o.admission,
        maxBatch,
        // recent seconds only: the first replies through cold code are slow, and a window of 256 would keep them for minutes at a low rate
        afterRun: new RecentTimes(10_000),
        ...(o.margin ? { margin: o.margin } : {}),
      });
      // a task that compares texts without whitespace: spaces count in no confidence either
      const ws = spec?.ignoreWhitespace ?? false;
      const decoder = spec ? makeDecoder(spec.output, o.baseDir, ws) : undefined;
      if (spec) pool.setDecoder(spec.output, o.baseDir, ws);
      return new Engine(pool, scheduler, o.ladder, pool.io, spec, input, decoder);
    } catch (e) {
      await pool.close();
      throw e;
    }
  }

  private users = 0;
  private idle: (() => void)[] = [];

  /** Runs `f` as a user of this engine: a retiring engine waits for its users before it closes. */
  async use<T>(f: (e: Engine) => Promise<T>): Promise<T> {
    this.users++;
    try {
      return await f(this);
    } finally {
      if (--this.users === 0) for (const w of this.idle.splice(0)) w();
    }
  }

  /** After a swap: waits for the requests that hold this engine (parsing, queued, running), then closes. */
  async retire(): Promise<void> {
    if (this.users > 0) await new Promise<void>((r) => this.idle.push(r));
    await this.scheduler.drain();
    await this.close();
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

const meta = (m: { name: string; shape: (number | string | undefined)[] | undefined }) => ({ name: m.name, ...(m.shape ? { shape: m.shape } : {}) });

/** The spec with its input and output names set to the model's when it leaves them open or names others. */
function fitSpec(spec: TaskSpec | undefined, io: ModelIo): TaskSpec | undefined {
  if (!spec) return undefined;
  const s = structuredClone(spec);
  if (!s.input || !io.inputs.some((i) => i.name === s.input)) s.input = io.inputs[0]!.name;
  if (s.output.name && !io.outputs.some((o) => o.name === s.output.name)) delete s.output.name;
  return s;
}

function warmupShapes(spec: TaskSpec | undefined, input: string): Record<string, number[]> {
  if (!spec || spec.preprocess.kind !== 'image') return {};
  const p = spec.preprocess;
  const nc = p.channels === 'gray' ? 1 : 3;
  return { [input]: p.layout === 'NHWC' ? [1, p.height, p.width, nc] : p.layout === 'flat' ? [1, nc * p.height * p.width] : [1, nc, p.height, p.width] };
}
