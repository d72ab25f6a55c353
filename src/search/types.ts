// The data an optimize run produces: candidate configurations, their measurements, and the summary.
// The report (src/report) and docs/summary-json.md read these types; change them with care.

import type { Check, Constraint, LatencyStat } from './constraints.js';
import type { ParamValues, PassRecord } from '../passes/pass.js';
import type { MachineInfo } from '../bench/machine.js';
import type { Summary as LatencySummary } from '../bench/stats.js';

export type OptLevel = 'disabled' | 'basic' | 'extended' | 'all';

/** One point in the candidate space: a pass list with parameters plus ORT session settings. */
export interface CandidateConfig {
  /** Short readable label, e.g. "int8-dynamic" or "static-u8 exclude 3 nodes". */
  label: string;
  passes: { name: string; params: ParamValues }[];
  session: { graphOptimizationLevel: OptLevel; disabledOptimizers: string[] };
}

export interface Interval {
  value: number;
  ci: [number, number];
}

/** count, p50 … p99, max, mean and stdev: src/bench's latency summary (without min). */
export interface LatencyFigures extends Omit<LatencySummary, 'min'> {
  /** 95% bootstrap intervals of the percentiles. */
  ci: Partial<Record<LatencyStat, [number, number]>>;
  /** The raw samples (ms), kept for distribution plots and comparisons. */
  samplesMs: number[];
}

export interface QualityFigures {
  /** The task's primary metric, e.g. exact match. */
  primary: { name: string; value: number; ci: [number, number] };
  metrics: Record<string, { value: number; ci: [number, number] }>;
  n: number;
  /** Per-item score (1/0 correctness or a score), for paired comparisons. */
  perItem: number[];
  /** Per-item weights behind the primary metric (reference lengths for CER); absent = equal. */
  weights?: number[];
  higherIsBetter?: boolean;
  /** What the quality figure is: the task's metric, or agreement with the source model. */
  source: 'task' | 'agreement';
  /** For agreement: on held-out user data, or on random inputs (not evidence of quality). */
  basis?: 'data' | 'random';
  /** For agreement: the metric chosen for each output of the source model. */
  outputs?: { output: string; kind: string; metric: string; threshold?: number }[];
}

export interface Measurement {
  stage: 'screen' | 'full';
  latency: LatencyFigures;
  quality: QualityFigures;
  peakRssBytes?: number;
  coldStartMs?: number;
  measuredAt: string;
  wallMs: number;
  /** The baseline's latency measured in the same interleaved rounds: relative budgets are held to it. */
  anchor?: { p50: number; p90: number; p95: number; p99: number; max: number; mean: number };
  /** Latency measured in interleaved rounds with these candidates (labels), so load drift hit them alike. */
  interleavedWith?: string[];
  rounds?: number;
}

export interface CandidateResult {
  id: string;
  config: CandidateConfig;
  /** What happened: built and measured, or failed (with why). */
  status: 'ok' | 'failed';
  error?: string;
  modelSha256?: string;
  sizeBytes?: number;
  passRecords: PassRecord[];
  screen?: Measurement;
  full?: Measurement;
  /** The built model is byte-identical (same session settings) to this candidate's: it is not measured. */
  identicalTo?: string;
  /**
   * Lineage: the candidate whose chain is this one's minus its last stage, when it is itself a
   * candidate (e.g. "prune 0.3 → recover" is the parent of "prune 0.3 → recover → quantize-static").
   */
  parentId?: string;
  /** How long each stage of the chain took to build, and whether it came from the stage cache. */
  stageTimes?: { stage: string; wallMs: number; cached: boolean; resumedFromStep?: number }[];
  /** Filled in by the search after measuring. */
  checks?: Check[];
  verdict?: Verdict;
}

export type Verdict =
  | { kind: 'chosen' }
  | { kind: 'feasible'; why: string }
  | { kind: 'rejected'; why: string }
  | { kind: 'dropped'; why: string }
  | { kind: 'no-change'; why: string }
  | { kind: 'failed'; why: string };

/** The machine fields of src/bench's MachineInfo that a summary keeps. */
export type Machine = Pick<MachineInfo, 'cpu' | 'cores' | 'os' | 'node' | 'ort' | 'threads'>;

export interface Sensitivity {
  /** Per-node cost of quantizing it, from the quant area's sensitivity analysis. */
  rows: { node: string; opType: string; delta: number; msCost?: number }[];
  metric: string;
  /** The candidate whose pass the table was measured for. */
  for?: string;
}

export interface Comparison {
  against: string;
  /** Quality: chosen minus runner-up, paired bootstrap over the same items. */
  quality?: { diff: number; ci: [number, number]; pBetter: number };
  /** Latency of the objective statistic: chosen minus runner-up (ms) and P(chosen is faster). */
  latency: { stat: LatencyStat; diffMs: number; ci: [number, number]; pFaster: number };
}

export interface Summary {
  schema: 'edgefit.optimize.summary/1';
  createdAt: string;
  source: { path: string; sha256: string; sizeBytes: number };
  task: { name: string; dataSha256: string; n: number; primary: string };
  constraints: Constraint[];
  objective: LatencyStat;
  threads: number;
  machine: Machine;
  /** The OS load average (1, 5, 15 min) when the run started and ended: other work on the machine inflates latency. */
  load?: { start: number[]; end: number[] };
  /** The source model measured the same way, for reference. */
  baseline: string;
  chosen?: string;
  /** How sure the choice beats the runner-up. */
  comparison?: Comparison;
  /**
   * The chosen model against the source measured in the same interleaved rounds (latency), and on the
   * same items (quality): the speed-up the run claims. `beyondNoise` false: no claim is made.
   */
  vsBaseline?: {
    stat: LatencyStat;
    baselineMs: number;
    chosenMs: number;
    speedup: number;
    diffMs: number;
    ci: [number, number];
    pFaster: number;
    /** The same comparison at the median. */
    medianDiffMs?: number;
    medianCi?: [number, number];
    beyondNoise: boolean;
    rounds?: number;
  };
  /** How quality was judged: the task, or agreement on held-out user data / random inputs, and the floor applied. */
  quality?: {
    source: 'task' | 'agreement';
    basis?: 'data' | 'random';
    /** The default floor applied when no --quality was given (e.g. "decision-agreement>=0.99"). */
    defaultFloor?: string;
    /** Held-out sample indices of the user data (for checking the figures independently). */
    holdout?: number[];
    data?: string;
    allowRandom?: boolean;
  };
  /** The model's inputs as they were measured (for the snippet that loads the chosen model). */
  inputs?: { name: string; type: string; shape: number[] }[];
  /** Why no model is recommended, when the search itself found one (random inputs, no gain beyond noise). */
  notRecommended?: string;
  feasible: boolean;
  /** When nothing is feasible: the nearest candidates and the constraints each misses. */
  closest?: { id: string; misses: string[] }[];
  candidates: CandidateResult[];
  sensitivity?: Sensitivity;
  timeLimitSec: number;
  elapsedSec: number;
  stoppedEarly?: string;
  notes: string[];
}
