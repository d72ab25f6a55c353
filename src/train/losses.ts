// Losses, appended to a forward graph as ONNX ops (so the backward builder differentiates them like any
// other node), plus the TypeScript side that prepares their per-batch inputs.
//   cross-entropy:  L = −Σ_n w_n Σ_c t_nc · log softmax(z)_nc      t = (1−ε)·onehot + ε/C, w_n = cw[y_n] / Σ_m cw[y_m]
//   mse:            L = mean((ŷ − y)²)
//   distill:        L = α·T²·Σ_n w_n KL(softmax(z_t/T) ‖ softmax(z/T)) + (1−α)·cross-entropy

import type { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';

export type LossSpec =
  | { kind: 'cross-entropy'; labelSmoothing?: number; classWeights?: number[] }
  | { kind: 'mse' }
  | { kind: 'distill'; temperature: number; alpha?: number; labelSmoothing?: number; classWeights?: number[] };

/** Names of the loss inputs the loop feeds each step. */
export const LOSS_INPUTS = { target: 'loss.target', weight: 'loss.sample_weight', teacher: 'loss.teacher_logits' } as const;

export interface LossNodes {
  loss: string;
  /** The loss inputs this loss reads. */
  inputs: string[];
}

function crossEntropyTerm(b: GraphBuilder, logits: string): string {
  const logp = b.op('LogSoftmax', [logits], { axis: -1 }, { name: 'loss/LogSoftmax' });
  const perSample = b.op('ReduceSum', [b.op('Mul', [logp, LOSS_INPUTS.target]), b.int64s('loss/axis1', [1])], { keepdims: 0 });
  return b.op('Neg', [b.op('ReduceSum', [b.op('Mul', [perSample, LOSS_INPUTS.weight])], { keepdims: 0 })]);
}

/** Appends the loss to the graph; `output` is the model output it reads (logits or predictions). */
export function appendLoss(b: GraphBuilder, output: string, spec: LossSpec, classes: number): LossNodes {
  if (spec.kind === 'mse') {
    b.input(LOSS_INPUTS.target, DataType.FLOAT);
    const d = b.op('Sub', [output, LOSS_INPUTS.target]);
    return { loss: b.op('ReduceMean', [b.op('Mul', [d, d])], { keepdims: 0 }, { outputs: ['loss'] }), inputs: [LOSS_INPUTS.target] };
  }
  b.input(LOSS_INPUTS.target, DataType.FLOAT, ['batch', classes]);
  b.input(LOSS_INPUTS.weight, DataType.FLOAT, ['batch']);
  const ce = crossEntropyTerm(b, output);
  if (spec.kind === 'cross-entropy') return { loss: b.op('Identity', [ce], {}, { outputs: ['loss'] }), inputs: [LOSS_INPUTS.target, LOSS_INPUTS.weight] };
  const T = spec.temperature;
  const alpha = spec.alpha ?? 1;
  if (!(T > 0)) throw new UsageError(`distillation temperature must be > 0, got ${T}`);
  b.input(LOSS_INPUTS.teacher, DataType.FLOAT, ['batch', classes]);
  const invT = b.scalar('loss/invT', 1 / T);
  const logPt = b.op('LogSoftmax', [b.op('Mul', [LOSS_INPUTS.teacher, invT])], { axis: -1 });
  const logPs = b.op('LogSoftmax', [b.op('Mul', [output, invT])], { axis: -1 });
  const kl = b.op('ReduceSum', [b.op('Mul', [b.op('Exp', [logPt]), b.op('Sub', [logPt, logPs])]), b.int64s('loss/axis1b', [1])], { keepdims: 0 });
  const klMean = b.op('ReduceSum', [b.op('Mul', [kl, LOSS_INPUTS.weight])], { keepdims: 0 });
  const klTerm = b.op('Mul', [klMean, b.scalar('loss/alphaT2', alpha * T * T)]);
  const loss =
    alpha === 1
      ? b.op('Identity', [klTerm], {}, { outputs: ['loss'] })
      : b.op('Add', [klTerm, b.op('Mul', [ce, b.scalar('loss/1-alpha', 1 - alpha)])], {}, { outputs: ['loss'] });
  return { loss, inputs: [LOSS_INPUTS.target, LOSS_INPUTS.weight, LOSS_INPUTS.teacher] };
}

/** Smoothed one-hot targets [n, classes] and normalised per-sample weights [n] for a batch of labels. */
export function classTargets(
  labels: ArrayLike<number>,
  classes: number,
  opts: { labelSmoothing?: number; classWeights?: number[] } = {},
): { target: Float32Array; weight: Float32Array } {
  const n = labels.length;
  const eps = opts.labelSmoothing ?? 0;
  const target = new Float32Array(n * classes).fill(eps / classes);
  const weight = new Float32Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    target[i * classes + y]! += 1 - eps;
    const w = opts.classWeights?.[y] ?? 1;
    weight[i] = w;
    total += w;
  }
  for (let i = 0; i < n; i++) weight[i] = weight[i]! / total;
  return { target, weight };
}

/**
 * Knowledge distillation per row, for outputs of any rank (a sequence model's frames are rows):
 *   L = T² · mean_rows KL(softmax(t/T) ‖ softmax(s/T))
 * `student` is [..., C] (reshaped to [rows, C]); `teacher` names a [rows, C] input of teacher logits.
 * The T² keeps the gradient's size independent of T (∂L/∂s = T·(p_s − p_t)/rows).
 */
export function appendKlDivergence(b: GraphBuilder, student: string, teacher: string, classes: number, T: number): string {
  if (!(T > 0) || !Number.isFinite(T)) throw new UsageError(`distillation temperature must be > 0, got ${T}`, 'e.g. --temperature 4');
  const rows = b.op('Reshape', [student, b.int64s('kd/rows_shape', [-1, classes])]);
  const invT = b.scalar('kd/invT', 1 / T);
  const logPt = b.op('LogSoftmax', [b.op('Mul', [teacher, invT])], { axis: -1 });
  const logPs = b.op('LogSoftmax', [b.op('Mul', [rows, invT])], { axis: -1 });
  const kl = b.op('ReduceSum', [b.op('Mul', [b.op('Exp', [logPt]), b.op('Sub', [logPt, logPs])]), b.int64s('kd/axis1', [1])], { keepdims: 0 });
  return b.op('Mul', [b.op('ReduceMean', [kl], { keepdims: 0 }), b.scalar('kd/T2', T * T)]);
}

/** Cross-entropy per row with per-row weights (0 for unlabelled rows): −Σ_r w_r Σ_c t_rc · log softmax(s)_rc. */
export function appendWeightedCrossEntropy(b: GraphBuilder, student: string, target: string, weight: string, classes: number): string {
  const rows = b.op('Reshape', [student, b.int64s('ce/rows_shape', [-1, classes])]);
  const logp = b.op('LogSoftmax', [rows], { axis: -1 });
  const perRow = b.op('ReduceSum', [b.op('Mul', [logp, target]), b.int64s('ce/axis1', [1])], { keepdims: 0 });
  return b.op('Neg', [b.op('ReduceSum', [b.op('Mul', [perRow, weight])], { keepdims: 0 })]);
}

/** Mean squared error between a [.., D] value (reshaped to [rows, D]) and a [rows, D] input. */
export function appendRowMse(b: GraphBuilder, value: string, target: string, width: number): string {
  const rows = b.op('Reshape', [value, b.int64s('mse/rows_shape', [-1, width])]);
  const d = b.op('Sub', [rows, target]);
  return b.op('ReduceMean', [b.op('Mul', [d, d])], { keepdims: 0 });
}
