// Training on ONNX graphs: the public surface of src/train (re-exports only).
export { trainModel, evaluateArrays, withWeights, type TrainOptions, type TrainResult, type EpochRecord, type ArrayEval } from './loop.js';
export { buildMlp, buildCnn, buildArch } from './models.js';
export {
  buildTrainingGraph,
  dropoutMask,
  selectTrainable,
  type DropoutMask,
  type TrainableSpec,
  type TrainingGraph,
  type TrainingGraphOptions,
} from './training-graph.js';
export { buildBackward, MissingGradientError } from './backward.js';
export { appendLoss, classTargets, type LossSpec } from './losses.js';
export { ctcAlign, ctcTargets, minFrames, type CtcAlignment, type CtcTargets } from './ctc.js';
export { trainCtc, type CtcData, type CtcStepRecord, type CtcTrainOptions, type CtcTrainResult } from './ctc-train.js';
export { ctcSamples, encodeText, type CtcSamples } from './ctc-data.js';
export { lrAt, TsOptimizer, type OptimizerConfig } from './optimizers.js';
export { mnistSplits, taskDataset, reshapeSamples, subset, type ArrayDataset, type Splits } from './dataset.js';
export { modelNormalisation, taskSplits } from './task-data.js';
export {
  finetune,
  findFeatureTensor,
  featureCandidates,
  cutAt,
  attachHead,
  randomizeWeights,
  trainLinearHead,
  type CutTrial,
  type FinetuneOptions,
  type FinetuneResult,
  type LinearHead,
} from './finetune.js';

import { buildArch } from './models.js';
import { trainModel } from './loop.js';
import { mnistSplits } from './dataset.js';
import { archInputShape } from './models.js';
import type { Model } from '../onnx/model.js';

/** A trained MNIST model in one call, for tests and benchmarks of other areas: e.g. trainedMnist('mlp:784-64-10', { epochs: 2 }). */
export async function trainedMnist(arch: string, opts: { epochs?: number; seed?: number } = {}): Promise<Model> {
  const model = buildArch(arch, opts.seed ?? 0);
  const data = mnistSplits({ sampleShape: archInputShape(model) });
  return (await trainModel({ model, train: data.train, val: data.val, epochs: opts.epochs ?? 3, seed: opts.seed ?? 0, update: 'ts' })).model;
}
