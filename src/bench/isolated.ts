// Runs a whole measurement (session creation, first run, warm-up, timed runs) in a child process, so
// that a crash, a memory blow-up or a hang in ORT cannot touch the caller, and so that cold start and
// peak RSS describe a fresh process that holds just this model. The optimize search runs every
// candidate through here.
//
//   const r = await benchIsolated('model.onnx', { threads: 1, shapes: { x: [1, 3, 48, 320] }, durationMs: 5000 });
//   if (r.ok) console.log(r.latency.p50, r.coldStartMs, r.peakRssBytes); else console.error(r.error.message);
//
// The child is `process.execPath isolated-worker.(js|ts)`; from .ts sources it gets `--import tsx`.
// Options travel over the IPC channel; progress and the result come back over it as messages.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { EdgefitError } from '../onnx/errors.js';
import type { ResolvedInput, FeedOptions } from '../runtime/inputs.js';
import { validateSessionOptions, type OptLevel, type ProviderFailure } from '../runtime/session.js';
import { validateLatencyOptions, type LatencyStats, type Progress } from './latency.js';
import type { MachineInfo } from './machine.js';
import { modelSize, type ModelSize } from './model-size.js';
import { nodeScriptArgs } from '../util/node-script.js';
import { mallocTuningEnv } from '../runtime/malloc-tuning.js';

export interface IsolatedOptions extends FeedOptions {
  // --- session (see SessionOptions)
  /** Intra-op threads (default 1). */
  threads?: number;
  /** Execution providers in order (default ['cpu']); all failures are reported together. */
  providers?: string[];
  /** ORT graph optimization level (default 'all'). */
  graphOptimizationLevel?: OptLevel;
  /** ORT optimizers to switch off by name, e.g. ['MatMulAddFusion']. */
  disabledOptimizers?: string[];
  /** Let idle ORT threads spin (default false). */
  spinning?: boolean;
  /** Extra ORT session config entries. */
  config?: Record<string, string>;
  /** Write ORT's optimized graph here. */
  optimizedModelPath?: string;
  // --- inputs: batch, shapes, dims, seed, maxElements, intRange (see FeedOptions)
  // --- the timed loop (see LatencyOptions)
  /** Untimed runs before measuring (default 5). */
  warmup?: number;
  /** The untimed runs go on until this many ms have passed too (default DEFAULT_WARMUP_MS, 500; 0 with warmup 0). */
  warmupMs?: number;
  /** Timed runs; exclusive with durationMs. */
  iterations?: number;
  /** Measure for this long (default 10 000 ms when neither is given). */
  durationMs?: number;
  /** Lower bound on timed runs in duration mode (default 5). */
  minIterations?: number;
  /** Upper bound on timed runs in duration mode (a fast model in a long duration gives millions of samples). */
  maxIterations?: number;
  // --- the child process
  /** Kill the child after this long (default: durationMs + 5 min, or 10 min). */
  timeoutMs?: number;
  /** Kill the child when its resident memory passes this (Linux: polled from /proc every 50 ms). */
  memoryLimitBytes?: number;
  /** Extra environment variables for the child (undefined removes one, e.g. the malloc tuning). */
  env?: Record<string, string | undefined>;
  /** Progress of warm-up and measurement, as the child reports it (about 10 times a second). */
  onProgress?: (p: Progress) => void;
  /** Stops the child; the result is then an 'aborted' failure. */
  signal?: AbortSignal;
}

export interface BenchResult {
  model: { path: string } & ModelSize;
  /** The execution provider the session ran on, and the ones that failed before it. */
  provider: string;
  providerFailures: ProviderFailure[];
  inputs: ResolvedInput[];
  settings: {
    threads: number;
    providers: string[];
    graphOptimizationLevel: OptLevel;
    disabledOptimizers: string[];
    warmup: number;
    warmupMs: number;
    iterations: number | null;
    durationMs: number | null;
    seed: number;
    batch: number | null;
  };
  latency: LatencyStats;
  /** Session creation plus the first run, in the fresh child. */
  coldStartMs: number;
  sessionCreateMs: number;
  firstRunMs: number;
  /** Loading onnxruntime-node itself (the native library) in the child, before the session. */
  ortLoadMs: number;
  /** The child's peak resident set size (getrusage maxrss), whole process. */
  peakRssBytes: number;
  /** The child's RSS after loading ORT, before the session: what the model adds is roughly the difference. */
  baselineRssBytes: number;
  /** fileBytes + externalBytes of the model. */
  modelBytes: number;
  machine: MachineInfo;
}

export type FailureKind = 'error' | 'crash' | 'timeout' | 'oom' | 'aborted';

export interface BenchFailure {
  kind: FailureKind;
  message: string;
  /** An EdgefitError code ('E_ORT_REJECTED', 'E_USAGE', …), or 'E_BENCH_CRASH' / 'E_BENCH_TIMEOUT' / 'E_BENCH_OOM' / 'E_BENCH_ABORTED'. */
  code: string;
  hint?: string;
  exitCode?: number | null;
  signal?: string | null;
  /** The end of the child's stderr, for crashes. */
  stderr?: string;
}

export type IsolatedResult = ({ ok: true } & BenchResult) | { ok: false; error: BenchFailure };

/** A failed isolated run, as an error the CLI prints without a stack. */
export class BenchError extends EdgefitError {
  constructor(readonly failure: BenchFailure) {
    super(failure.message, failure.code, failure.hint);
    this.name = 'BenchError';
  }
}

/** The result, or a BenchError for a failure. */
export function unwrapBench(r: IsolatedResult): BenchResult {
  if (!r.ok) throw new BenchError(r.error);
  const { ok: _ok, ...rest } = r;
  return rest;
}

/** Messages between the parent and isolated-worker. */
export type ToWorker = {
  type: 'start';
  modelPath: string;
  modelBytes: ModelSize;
  options: Omit<IsolatedOptions, 'onProgress' | 'timeoutMs' | 'memoryLimitBytes' | 'env' | 'signal'>;
};
export type FromWorker =
  | { type: 'progress'; progress: Progress }
  | { type: 'result'; result: BenchResult }
  | { type: 'error'; error: { message: string; code: string; hint?: string; stack?: string; user: boolean } };

const STDERR_TAIL = 4000;
/** setTimeout fires at once for delays over 2^31-1 ms (about 24.8 days); longer timeouts wait that long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Measures `modelPath` in a child process. Bad option values throw a UsageError; everything about the
 * model or the child (unreadable file, ORT rejects it, crash, timeout, memory limit) comes back as
 * `{ ok: false, error }`, never as a throw or a crash of the caller.
 */
export async function benchIsolated(modelPath: string, opts: IsolatedOptions = {}): Promise<IsolatedResult> {
  validateSessionOptions(opts);
  validateLatencyOptions(opts);
  let size: ModelSize;
  try {
    size = modelSize(modelPath);
  } catch (e) {
    if (e instanceof EdgefitError) return { ok: false, error: { kind: 'error', message: e.message, code: e.code, hint: e.hint } };
    throw e;
  }
  const { onProgress, timeoutMs: t, memoryLimitBytes, env, signal: abortSignal, ...options } = opts;
  if (abortSignal?.aborted) return { ok: false, error: aborted(modelPath) };
  const timeoutMs = t ?? (opts.durationMs !== undefined ? opts.durationMs + 300_000 : 600_000);
  const args = nodeScriptArgs(import.meta.url, 'isolated-worker');

  return new Promise<IsolatedResult>((resolvePromise) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // glibc malloc tuned for steady latency (malloc-tuning.ts), as `serve` runs; the caller's env last
      env: { ...process.env, ...mallocTuningEnv(), ...(env ?? {}) },
      serialization: 'advanced',
    });
    let stderr = '';
    const keep = (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    };
    child.stderr?.on('data', keep);
    child.stdout?.on('data', keep);
    let result: BenchResult | undefined;
    let failure: BenchFailure | undefined;
    let killedFor: 'timeout' | 'oom' | 'aborted' | undefined;
    const onAbort = () => {
      killedFor ??= 'aborted';
      child.kill('SIGKILL');
    };
    abortSignal?.addEventListener('abort', onAbort, { once: true });
    let rssSeen = 0;

    const timer = setTimeout(
      () => {
        killedFor ??= 'timeout';
        child.kill('SIGKILL');
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    const poll =
      memoryLimitBytes !== undefined && existsSync('/proc/self/status')
        ? setInterval(() => {
            const rss = rssOf(child.pid);
            rssSeen = Math.max(rssSeen, rss);
            if (rss > memoryLimitBytes) {
              killedFor ??= 'oom';
              child.kill('SIGKILL');
            }
          }, 50)
        : undefined;

    child.on('message', (m: FromWorker) => {
      if (m.type === 'progress') onProgress?.(m.progress);
      else if (m.type === 'result') result = m.result;
      else if (m.type === 'error') {
        failure = m.error.user
          ? { kind: 'error', message: m.error.message, code: m.error.code, hint: m.error.hint }
          : {
              kind: 'crash',
              message: `the benchmark child failed on ${modelPath}: ${m.error.message}`,
              code: 'E_BENCH_CRASH',
              hint: 'this looks like a bug in edgefit or ORT; the stack is in `stderr`',
              stderr: m.error.stack,
            };
      }
    });
    let settled = false;
    const settle = (r: IsolatedResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      abortSignal?.removeEventListener('abort', onAbort);
      resolvePromise(r);
    };
    child.on('error', (e) => {
      const f: BenchFailure = { kind: 'crash', message: `the benchmark child process for ${modelPath} failed: ${e.message}`, code: 'E_BENCH_CRASH' };
      // A process that never started emits no 'close'.
      if (child.pid === undefined) settle({ ok: false, error: f });
      else failure ??= f;
    });
    child.on('close', (code, signal) => {
      if (killedFor === 'aborted') return settle({ ok: false, error: aborted(modelPath) });
      if (result && !killedFor) return settle({ ok: true, ...result });
      if (failure && !killedFor) return settle({ ok: false, error: failure });
      const tail = stderr.trim();
      if (killedFor === 'timeout')
        return settle({
          ok: false,
          error: {
            kind: 'timeout',
            message: `benchmarking ${modelPath} took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`,
            code: 'E_BENCH_TIMEOUT',
            hint: 'measure fewer runs (--iterations / --duration), a smaller input, or raise the timeout',
            exitCode: code,
            signal,
            stderr: tail,
          },
        });
      if (killedFor === 'oom')
        return settle({
          ok: false,
          error: {
            kind: 'oom',
            message: `benchmarking ${modelPath} used more than ${mib(memoryLimitBytes!)} of memory (reached ${mib(rssSeen)}) and was stopped`,
            code: 'E_BENCH_OOM',
            hint: 'use a smaller batch or input shape, or raise the memory limit',
            exitCode: code,
            signal,
            stderr: tail,
          },
        });
      const heapOom = /heap out of memory|bad_alloc|Cannot allocate memory|std::bad_alloc/i.test(tail);
      const why = signal
        ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (often the kernel stopping a process that ran out of memory)' : ''}`
        : `exited with code ${code} without a result`;
      settle({
        ok: false,
        error: {
          kind: heapOom || signal === 'SIGKILL' ? 'oom' : 'crash',
          message: `the benchmark process for ${modelPath} ${why}${tail ? `: ${lastLine(tail)}` : ''}`,
          code: heapOom || signal === 'SIGKILL' ? 'E_BENCH_OOM' : 'E_BENCH_CRASH',
          hint:
            heapOom || signal === 'SIGKILL'
              ? 'use a smaller batch or input shape'
              : 'ORT or the model crashed the process; the end of its stderr is in the result',
          exitCode: code,
          signal,
          stderr: tail,
        },
      });
    });
    const start: ToWorker = { type: 'start', modelPath, modelBytes: size, options };
    if (child.connected) child.send(start, (e) => e && child.kill('SIGKILL'));
  });
}

function aborted(modelPath: string): BenchFailure {
  return { kind: 'aborted', message: `benchmarking ${modelPath} was stopped by the caller`, code: 'E_BENCH_ABORTED' };
}

function rssOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function mib(b: number): string {
  return `${(b / 2 ** 20).toFixed(0)} MiB`;
}

function lastLine(s: string): string {
  const lines = s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const line = lines[lines.length - 1] ?? '';
  return line.length > 300 ? line.slice(0, 300) + '…' : line;
}
