// The stable JSON form of a bench result (`edgefit bench --json`, bench/results/*.json); documented in
// docs/bench-json.md. Change it only by adding fields; a breaking change bumps `schema`.

import type { BenchFailure, BenchResult } from './isolated.js';
import type { MachineInfo } from './machine.js';

export const BENCH_SCHEMA = 'edgefit.bench/1';

export interface BenchJson {
  schema: typeof BENCH_SCHEMA;
  model: { path: string; fileBytes: number; externalBytes: number; totalBytes: number };
  inputs: { name: string; type: string; shape: number[] }[];
  session: {
    provider: string;
    providerFailures: { provider: string; reason: string }[];
    threads: number;
    graphOptimizationLevel: string;
    disabledOptimizers: string[];
  };
  runs: {
    warmup: number;
    warmupMs: number;
    warmupRuns: number;
    iterations: number | null;
    durationMs: number | null;
    measured: number;
    totalMs: number;
    seed: number;
    batch: number | null;
  };
  latencyMs: { min: number; p50: number; p90: number; p95: number; p99: number; max: number; mean: number; stdev: number };
  throughputPerSec: number;
  coldStartMs: { total: number; sessionCreate: number; firstRun: number; ortLoad: number };
  memory: { peakRssBytes: number; baselineRssBytes: number };
  machine: MachineInfo;
  samplesMs?: number[];
}

export interface BenchErrorJson {
  schema: typeof BENCH_SCHEMA;
  model: { path: string };
  error: { kind: string; code: string; message: string; hint?: string };
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

export function benchJson(r: BenchResult, opts: { samples?: boolean } = {}): BenchJson {
  const l = r.latency;
  const out: BenchJson = {
    schema: BENCH_SCHEMA,
    model: { path: r.model.path, fileBytes: r.model.fileBytes, externalBytes: r.model.externalBytes, totalBytes: r.model.totalBytes },
    inputs: r.inputs.map((i) => ({ name: i.name, type: i.type, shape: i.shape })),
    session: {
      provider: r.provider,
      providerFailures: r.providerFailures,
      threads: r.settings.threads,
      graphOptimizationLevel: r.settings.graphOptimizationLevel,
      disabledOptimizers: r.settings.disabledOptimizers,
    },
    runs: {
      warmup: r.settings.warmup,
      warmupMs: r.settings.warmupMs,
      warmupRuns: r.latency.warmup,
      iterations: r.settings.iterations,
      durationMs: r.settings.durationMs,
      measured: l.count,
      totalMs: r3(l.totalMs),
      seed: r.settings.seed,
      batch: r.settings.batch,
    },
    latencyMs: { min: r3(l.min), p50: r3(l.p50), p90: r3(l.p90), p95: r3(l.p95), p99: r3(l.p99), max: r3(l.max), mean: r3(l.mean), stdev: r3(l.stdev) },
    throughputPerSec: r3(l.throughput),
    coldStartMs: { total: r3(r.coldStartMs), sessionCreate: r3(r.sessionCreateMs), firstRun: r3(r.firstRunMs), ortLoad: r3(r.ortLoadMs) },
    memory: { peakRssBytes: r.peakRssBytes, baselineRssBytes: r.baselineRssBytes },
    machine: r.machine,
  };
  if (opts.samples) out.samplesMs = l.samplesMs.map(r3);
  return out;
}

export function benchErrorJson(path: string, e: BenchFailure): BenchErrorJson {
  return { schema: BENCH_SCHEMA, model: { path }, error: { kind: e.kind, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } };
}
