// The data module's public surface: tasks, specs, readers, generators. Re-exports only.

export { loadTask, calibrationFeeds, builtinTasks, Task, type Batch, type Label, type LoadTaskOptions, type BatchOptions } from './task.js';
export {
  validateSpec,
  METRICS,
  type TaskSpec,
  type ImagePreprocess,
  type TextPreprocess,
  type TensorPreprocess,
  type OutputSpec,
  type DataSpec,
  type MetricName,
} from './spec.js';
export { DataError, TaskSpecError, type OnBadItem, type SkippedItem } from './errors.js';
export { BUILTINS } from './builtin.js';
export { makeDataset, type MakeOptions, type MakeResult } from './make.js';
export { mnistRows } from './sources.js';
export { splitOf, Rng, hash32, type Split, type SplitFractions } from './rng.js';
export { encodeNpy, NpyReader } from './npy.js';
export { serialSample } from './generators/serials.js';
export { partSample, PART_CLASSES } from './generators/parts.js';
export { inferSpec, sessionIO, type ModelIO } from './infer-spec.js';
export { fitTaskToModel, modelIO } from './fit-task.js';
