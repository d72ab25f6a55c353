// The bench layer: the timed loop, statistics, isolated runs, machine info, the JSON form.
export {
  measureLatency,
  validateLatencyOptions,
  DEFAULT_WARMUP,
  DEFAULT_DURATION_MS,
  type LatencyOptions,
  type LatencyStats,
  type Progress,
  type Runnable,
} from './latency.js';
export { summarize, quantileSorted, type Summary } from './stats.js';
export {
  benchIsolated,
  unwrapBench,
  BenchError,
  type IsolatedOptions,
  type IsolatedResult,
  type BenchResult,
  type BenchFailure,
  type FailureKind,
} from './isolated.js';
export { machineInfo, machineLine, type MachineInfo } from './machine.js';
export { modelSize, type ModelSize } from './model-size.js';
export { benchJson, benchErrorJson, BENCH_SCHEMA, type BenchJson, type BenchErrorJson } from './bench-json.js';
export { progressBar, type ProgressBar } from './progress.js';
