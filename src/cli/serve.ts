// `edgefit serve <model.onnx | run-dir> [more models…]`: the inference server. Thin: parse, start the
// library's server, log, and wait for SIGTERM/SIGINT (drain, exit 0) or SIGHUP (reload).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { UsageError } from '../onnx/errors.js';
import { BUILTINS } from '../data/builtin.js';
import { TaskSpecError } from '../data/errors.js';
import { validateSpec, type TaskSpec } from '../data/spec.js';
import { parseShapeFlags } from '../runtime/inputs.js';
import { resolveLadder, type Ladder } from '../serve/ladder.js';
import { withAdapter } from './serve-adapter.js';
import { startServer } from '../serve/server.js';
import { JsonlSink } from '../serve/jsonl-sink.js';
import { EventWriter } from '../monitor/event-writer.js';
import { calibrateCascade, describeCalibration } from '../serve/cascade-calibrate.js';
import type { CascadeConfidence } from '../serve/decode-result.js';
import { DEFAULT_MAX_PIXELS } from '../serve/image-input.js';
import { canIdleThreads, DEFAULT_WORKER_NICE, type WorkerPriority } from '../serve/nice.js';
import type { Command, CommandContext } from './command.js';
import { mallocMode } from '../runtime/malloc-tuning.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve a model (or a degrade ladder) over HTTP with deadlines, admission control and Prometheus metrics',
  args: [{ name: 'models', description: 'a model.onnx, an optimize run directory, or several models, most accurate first', variadic: true }],
  flags: [
    {
      name: 'task',
      type: 'string',
      placeholder: 'task|spec.json',
      description: "how images are preprocessed and outputs decoded (default: inferred for PaddleOCR and MNIST-shaped models, or the run's task)",
    },
    {
      name: 'adapter',
      type: 'string',
      placeholder: 'file.onnx',
      description:
        'a LoRA adapter (`edgefit finetune --lora r --save-adapter`) merged into the first model at load, e.g. one per line or product on a shared base',
    },
    { name: 'host', type: 'string', placeholder: 'addr', default: '127.0.0.1', description: 'address to bind; anything but loopback needs --api-key' },
    { name: 'port', type: 'integer', placeholder: 'n', default: 8080, description: 'port (0 picks a free one)' },
    {
      name: 'api-key',
      type: 'string',
      placeholder: 'key',
      description: 'require "Authorization: Bearer <key>" (or X-Api-Key) on every route but /healthz and /readyz',
    },
    {
      name: 'deadline-ms',
      type: 'number',
      placeholder: 'ms',
      description: "default deadline after arrival when a request sends no X-Deadline-Ms (default: the run's budget, else 1000)",
    },
    { name: 'workers', type: 'integer', placeholder: 'n', default: 1, description: 'inference worker threads, each with its own ORT sessions' },
    { name: 'threads', type: 'integer', placeholder: 'n', default: 1, description: 'ORT intra-op threads per worker (spinning off)' },
    {
      name: 'worker-nice',
      type: 'string',
      placeholder: 'n|idle',
      default: String(DEFAULT_WORKER_NICE),
      description:
        "inference and decode threads run this much nicer than the process, so admission gets a core first (0: same priority); 'idle': Linux SCHED_IDLE, any other thread that wakes takes the core from them at once (starves them while other processes keep the cores busy)",
    },
    {
      name: 'decode-workers',
      type: 'integer',
      placeholder: 'n',
      default: 1,
      description: 'worker threads that decode image bodies (the main thread never decodes pixels)',
    },
    {
      name: 'max-batch',
      type: 'integer',
      placeholder: 'n',
      default: 1,
      description: 'micro-batching: up to n queued requests run as one batch, for the sizes measured at start-up to beat one at a time (1: off)',
    },
    {
      name: 'respawn-warmup',
      type: 'integer',
      placeholder: 'n',
      default: 3,
      description: 'warm-up runs per model of a worker that replaces a crashed one, before it takes traffic',
    },
    {
      name: 'admission',
      type: 'string',
      values: ['on', 'off'],
      default: 'on',
      description: 'on: admit by predicted completion, degrade, shed; off: plain bounded FIFO on the first model',
    },
    { name: 'quantile', type: 'number', placeholder: 'q', default: 0.99, description: 'service-time quantile a request is admitted on (0.95, 0.99, …)' },
    { name: 'max-queue', type: 'integer', placeholder: 'n', default: 64, description: 'most requests waiting; more are refused with 503' },
    { name: 'warmup', type: 'integer', placeholder: 'n', default: 20, description: 'timed warm-up runs per model and worker; they seed the service times' },
    { name: 'shape', type: 'string[]', placeholder: 'name=d1,d2,…', description: 'input shape for warm-up runs, for models whose dims the task does not fix' },
    { name: 'body-limit', type: 'integer', placeholder: 'bytes', default: 8 * 2 ** 20, description: 'largest request body (413 above)' },
    {
      name: 'max-pixels',
      type: 'integer',
      placeholder: 'n',
      default: DEFAULT_MAX_PIXELS,
      description: 'largest image, checked from its header before decoding (413 above)',
    },
    { name: 'max-elements', type: 'integer', placeholder: 'n', default: 2 ** 24, description: 'largest JSON input tensor, in elements' },
    { name: 'headers-timeout', type: 'number', placeholder: 'ms', default: 10_000, description: 'a client must send all headers within this' },
    { name: 'request-timeout', type: 'number', placeholder: 'ms', default: 30_000, description: 'a client must send the whole request within this' },
    {
      name: 'events',
      type: 'string',
      placeholder: 'file.jsonl',
      description: 'append an inspection event per request that sends X-Line/X-Machine/X-Batch/X-Part-Id',
    },
    {
      name: 'db',
      type: 'string',
      placeholder: 'line.duckdb',
      description: 'record those events in the monitoring store (DuckDB; read it with edgefit monitor alerts/report)',
    },
    {
      name: 'defect-labels',
      type: 'string[]',
      placeholder: 'a,b',
      description: "classifier labels that are defects (default: any label but 'ok'/'good'/the first class)",
    },
    {
      name: 'cascade-agreement',
      type: 'number',
      placeholder: 'share',
      description: "cascade: fast model first, the accurate one when unsure; threshold calibrated on the task's validation data to this agreement (e.g. 0.99)",
    },
    { name: 'cascade-threshold', type: 'number', placeholder: 'conf', description: 'cascade with this confidence threshold instead of calibrating' },
    { name: 'cascade-samples', type: 'integer', placeholder: 'n', default: 200, description: 'validation items for the cascade calibration' },
    {
      name: 'cascade-confidence',
      type: 'string',
      values: ['least', 'mean'],
      default: 'least',
      description: "a text's confidence for the cascade: its least sure character, or the mean (PaddleOCR's score)",
    },
  ],
  details: `API: docs/serve-api.md. Examples:

  edgefit serve runs/optimize-rec-serials                     # best.onnx (+ ladder.json)
  edgefit serve rec.onnx rec.int8.onnx --task serials --deadline-ms 60
  edgefit serve rec.onnx rec.int8.onnx --task serials --cascade-agreement 0.99

SIGTERM or SIGINT: stop accepting, finish what is in flight, exit 0. SIGHUP or POST /admin/reload:
load the model files again and swap them in without dropping a request.`,
  run,
};

/** A built-in task name or a spec .json, and the folder its relative paths resolve against. */
export function loadSpec(ref: string): { spec: TaskSpec; baseDir: string } {
  if (BUILTINS[ref]) return { spec: structuredClone(BUILTINS[ref]!.spec), baseDir: process.cwd() };
  if (!existsSync(ref) || extname(ref).toLowerCase() !== '.json')
    throw new UsageError(`unknown task '${ref}'`, `built-in tasks: ${Object.keys(BUILTINS).join(', ')}; or a task spec .json`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(ref, 'utf8'));
  } catch (e) {
    throw new TaskSpecError(`${ref}: not valid JSON: ${(e as Error).message}`);
  }
  return { spec: validateSpec(json), baseDir: dirname(resolve(ref)) };
}

function positive(ctx: CommandContext, name: string): number | undefined {
  const v = ctx.flags[name] as number | undefined;
  if (v !== undefined && !(v > 0)) throw new UsageError(`--${name} must be positive, got ${v}`);
  return v;
}

async function run(ctx: CommandContext): Promise<number> {
  const adapter = ctx.flags.adapter as string | undefined;
  const models = () => (adapter ? withAdapter(resolveLadder(ctx.args), adapter) : resolveLadder(ctx.args));
  const ladder = models();
  if (adapter && ladder.models.length > 1)
    ctx.log(
      `--adapter is merged into ${ladder.models[0]!.id} only; ${ladder.models
        .slice(1)
        .map((m) => m.id)
        .join(', ')} answer without it`,
    );
  // the server reads the ladder once at start (this one) and again on each reload
  let first: Ladder | undefined = ladder;
  const readLadder = (): Ladder => {
    const l = first ?? models();
    first = undefined;
    return l;
  };
  for (const k of [
    'deadline-ms',
    'workers',
    'threads',
    'decode-workers',
    'max-batch',
    'max-queue',
    'body-limit',
    'max-pixels',
    'max-elements',
    'headers-timeout',
    'request-timeout',
    'cascade-samples',
  ])
    positive(ctx, k);
  const nice = workerPriority(ctx.flags['worker-nice'] as string);
  const q = ctx.flags.quantile as number;
  if (!(q > 0 && q < 1)) throw new UsageError(`--quantile must be between 0 and 1, got ${q}`, 'e.g. 0.99');
  const agreement = ctx.flags['cascade-agreement'] as number | undefined;
  if (agreement !== undefined && !(agreement > 0 && agreement <= 1)) throw new UsageError(`--cascade-agreement must be in (0, 1], got ${agreement}`);
  const taskRef = (ctx.flags.task as string | undefined) ?? ladder.task;
  if (agreement !== undefined && !taskRef) throw new UsageError('--cascade-agreement needs --task (its validation data calibrates the threshold)');
  const task = taskRef ? loadSpec(taskRef) : undefined;
  const eventsPath = ctx.flags.events as string | undefined;
  const dbPath = ctx.flags.db as string | undefined;
  if (eventsPath && dbPath) throw new UsageError('give --events or --db, not both', '--db records into the monitoring store; --events appends JSONL lines');
  const server = await startServer({
    ladder: readLadder,
    host: ctx.flags.host as string,
    port: ctx.flags.port as number,
    ...(ctx.flags['api-key'] ? { apiKey: ctx.flags['api-key'] as string } : {}),
    ...(ctx.flags['deadline-ms'] !== undefined ? { deadlineMs: ctx.flags['deadline-ms'] as number } : {}),
    workers: ctx.flags.workers as number,
    decodeWorkers: ctx.flags['decode-workers'] as number,
    workerNice: nice,
    maxBatch: ctx.flags['max-batch'] as number,
    respawnWarmup: ctx.flags['respawn-warmup'] as number,
    session: { threads: ctx.flags.threads as number },
    admission: ctx.flags.admission === 'on',
    quantile: q,
    maxQueue: ctx.flags['max-queue'] as number,
    warmup: ctx.flags.warmup as number,
    ...(ctx.flags.shape ? { shapes: parseShapeFlags(ctx.flags.shape as string[]) } : {}),
    bodyLimit: ctx.flags['body-limit'] as number,
    maxPixels: ctx.flags['max-pixels'] as number,
    maxElements: ctx.flags['max-elements'] as number,
    headersTimeoutMs: ctx.flags['headers-timeout'] as number,
    requestTimeoutMs: ctx.flags['request-timeout'] as number,
    ...(task ? { spec: task.spec, baseDir: task.baseDir } : {}),
    ...(ctx.flags['defect-labels'] ? { defectLabels: (ctx.flags['defect-labels'] as string[]).flatMap((s) => s.split(',')).filter(Boolean) } : {}),
    ...(ctx.flags['cascade-threshold'] !== undefined ? { cascadeThreshold: ctx.flags['cascade-threshold'] as number } : {}),
    cascadeConfidence: ctx.flags['cascade-confidence'] as CascadeConfidence,
    ...(eventsPath ? { eventSink: await JsonlSink.open(eventsPath) } : {}),
    ...(dbPath ? { eventSink: new EventWriter(dbPath) } : {}),
    onReload: (g) => ctx.log(`reloaded: generation ${g}`),
  });
  const engine = server.engine();
  for (const [k, r] of engine.scheduler.rungs.entries())
    ctx.log(
      `model ${k}: ${r.id}  service p50 ${r.time.quantile(0.5).toFixed(2)} ms, p99 ${r.time.quantile(0.99).toFixed(2)} ms (${r.time.count} warm-up runs)`,
    );
  if (agreement !== undefined) {
    const measure = ctx.flags['cascade-confidence'] as CascadeConfidence;
    const asked = ctx.flags['cascade-samples'] as number;
    const c = await calibrateCascade(engine, taskRef!, agreement, asked, 0, measure);
    server.settings.cascadeThreshold = c.threshold;
    ctx.log(describeCalibration(c, engine.ladder[0]!.id, agreement, asked));
  }
  ctx.log(`listening on ${server.url} (deadline ${server.settings.deadlineMs} ms, admission ${ctx.flags.admission}, malloc ${mallocMode()})`);
  await new Promise<void>((done) => {
    const stop = (sig: string) => {
      ctx.log(`${sig}: draining`);
      process.off('SIGHUP', hup);
      server.close().then(done, (e: unknown) => {
        ctx.log(`error while draining: ${(e as Error).message}`);
        done();
      });
    };
    const hup = () => {
      ctx.log('SIGHUP: reloading');
      server.reload().catch((e: unknown) => ctx.log(`reload failed, still serving the old models: ${(e as Error).message}`));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', hup);
  });
  ctx.log('drained; bye');
  return 0;
}

function workerPriority(flag: string): WorkerPriority {
  if (flag === 'idle') {
    if (!canIdleThreads())
      throw new UsageError(
        "--worker-nice idle needs Linux and util-linux's chrt on the PATH, which this machine lacks",
        'install util-linux (apt install util-linux), or give a nice value such as --worker-nice 19',
      );
    return 'idle';
  }
  const n = Number(flag);
  if (!(/^\d+$/.test(flag) && n <= 19)) throw new UsageError(`--worker-nice must be an integer from 0 to 19 or 'idle', got '${flag}'`);
  return n;
}
