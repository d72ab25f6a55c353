// The timed loop: warm-up runs, then runs measured by count or by duration. Per run, the loop does a
// performance.now() pair and one store, so its own cost stays far below a model's latency
// (bench/overhead.ts checks it against a bare session.run loop).

import type * as ort from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import { summarize, type Summary } from './stats.js';

/** What the loop needs of a session: ort.InferenceSession fits, and tests can pass a fake. */
export interface Runnable {
  run(feeds: Record<string, ort.Tensor>): Promise<unknown>;
}

export interface LatencyOptions {
  /** Untimed runs first, to let caches, allocators and ORT's arenas settle (default 5). */
  warmup?: number;
  /**
   * The untimed runs also go on until this many ms have passed (default 0 here; a fresh measurement
   * child uses DEFAULT_WARMUP_MS): a just-started process runs its first few hundred ms slower.
   */
  warmupMs?: number;
  /** Timed runs; exclusive with durationMs. */
  iterations?: number;
  /** Run until this many ms have passed (at least minIterations runs); default 10 000 when neither is given. */
  durationMs?: number;
  /** Lower bound on timed runs in duration mode (default 5). */
  minIterations?: number;
  /** Upper bound on timed runs in duration mode: stop early once this many are taken (default MAX_ITERATIONS). */
  maxIterations?: number;
  /** Called after a run, at most every progressIntervalMs, outside the timed span. */
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
}

export interface Progress {
  phase: 'warmup' | 'measure';
  done: number;
  /** Known in iterations mode. */
  total?: number;
  elapsedMs: number;
  /** Known in duration mode. */
  durationMs?: number;
}

export interface LatencyStats extends Summary {
  /** Runs per second over the measured span (includes the loop's own small cost). */
  throughput: number;
  /** Wall time of the measured span. */
  totalMs: number;
  /** Untimed runs done (warmup, or more when warmupMs needed them). */
  warmup: number;
  /** Every measured latency, in run order. */
  samplesMs: number[];
}

export const DEFAULT_WARMUP = 5;
/**
 * Warm-up time of a fresh measurement process. With 5 warm-up runs, the first 25–30 timed runs of the
 * int8 rec (6.5 ms a run) were 1.3–1.5× slower than the rest, in every fresh child: 10% of a short
 * measurement, enough to set its p90 and p99 (p99 10.2 against 7.4 ms with 40 warm-up runs).
 */
export const DEFAULT_WARMUP_MS = 500;
export const DEFAULT_DURATION_MS = 10_000;
/** Upper bounds that keep the samples array allocatable and timers representable (a typo such as an extra zero fails early). */
export const MAX_ITERATIONS = 10_000_000;
export const MAX_DURATION_MS = 7 * 24 * 3600 * 1000;

export function validateLatencyOptions(o: LatencyOptions): void {
  const whole = (v: number | undefined, name: string, min: number) => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) throw new UsageError(`${name} must be a whole number ≥ ${min}, got ${v}`);
  };
  whole(o.warmup, 'warmup', 0);
  if (o.warmupMs !== undefined && !(Number.isFinite(o.warmupMs) && o.warmupMs >= 0 && o.warmupMs <= MAX_DURATION_MS))
    throw new UsageError(`the warm-up time must be a number of ms from 0 to ${MAX_DURATION_MS}, got ${o.warmupMs}`, 'e.g. --warmup-ms 500');
  if (o.warmup !== undefined && o.warmup > MAX_ITERATIONS)
    throw new UsageError(`warmup must be at most ${MAX_ITERATIONS} runs, got ${o.warmup}`, 'a few runs (the default is 5) let caches and arenas settle');
  whole(o.iterations, 'iterations', 1);
  if (o.iterations !== undefined && o.iterations > MAX_ITERATIONS)
    throw new UsageError(
      `iterations must be at most ${MAX_ITERATIONS}, got ${o.iterations}`,
      'measure fewer runs, or use --duration S to measure for S seconds',
    );
  whole(o.minIterations, 'minIterations', 1);
  whole(o.maxIterations, 'maxIterations', 1);
  if (o.durationMs !== undefined && !(Number.isFinite(o.durationMs) && o.durationMs > 0))
    throw new UsageError(`duration must be a positive number of seconds, got ${o.durationMs / 1000}`);
  if (o.durationMs !== undefined && o.durationMs > MAX_DURATION_MS)
    throw new UsageError(`duration must be at most ${MAX_DURATION_MS / 1000} s (7 days), got ${o.durationMs / 1000} s`, 'measure for a shorter time');
  if (o.iterations !== undefined && o.durationMs !== undefined)
    throw new UsageError('give either iterations or a duration, not both', 'use --iterations N for a fixed count, or --duration S to measure for S seconds');
}

export async function measureLatency(session: Runnable, feeds: Record<string, ort.Tensor>, opts: LatencyOptions = {}): Promise<LatencyStats> {
  validateLatencyOptions(opts);
  const warmup = opts.warmup ?? DEFAULT_WARMUP;
  const onProgress = opts.onProgress;
  const interval = opts.progressIntervalMs ?? 100;
  let lastReport = -Infinity;

  const warmupMs = opts.warmupMs ?? 0;
  const warmStart = performance.now();
  let warmed = 0;
  while (warmed < warmup || (warmup > 0 && performance.now() - warmStart < warmupMs && warmed < MAX_ITERATIONS)) {
    await session.run(feeds);
    warmed++;
    if (onProgress) {
      const now = performance.now();
      if (now - lastReport >= interval) {
        lastReport = now;
        onProgress({ phase: 'warmup', done: warmed, total: warmup, elapsedMs: now - warmStart });
      }
    }
  }

  const iterations = opts.iterations;
  const durationMs = iterations === undefined ? (opts.durationMs ?? DEFAULT_DURATION_MS) : undefined;
  const minIterations = opts.minIterations ?? 5;
  const maxIterations = Math.max(minIterations, Math.min(opts.maxIterations ?? MAX_ITERATIONS, MAX_ITERATIONS));
  const samples: number[] = iterations !== undefined ? new Array<number>(iterations) : [];
  lastReport = -Infinity;
  const start = performance.now();
  let t1 = start;
  let n = 0;
  while (iterations !== undefined ? n < iterations : n < minIterations || (t1 - start < durationMs! && n < maxIterations)) {
    const t0 = performance.now();
    await session.run(feeds);
    t1 = performance.now();
    samples[n++] = t1 - t0;
    if (onProgress && t1 - lastReport >= interval) {
      lastReport = t1;
      onProgress({ phase: 'measure', done: n, total: iterations, elapsedMs: t1 - start, durationMs });
    }
  }
  const totalMs = t1 - start;
  onProgress?.({ phase: 'measure', done: n, total: iterations ?? n, elapsedMs: totalMs, durationMs });
  return { ...summarize(samples), throughput: totalMs > 0 ? (n * 1000) / totalMs : 0, totalMs, warmup: warmed, samplesMs: samples };
}
