// The training graph: the forward model, a loss, and the backward pass, as one ONNX model that ORT runs.
// Trainable parameters become graph inputs (so the loop can change them without rebuilding the session);
// frozen ones stay constants. Outputs: the loss, the model output, each parameter's gradient, batch
// statistics of BatchNormalization in 'batch' mode, and, with an in-graph optimizer, the updated
// parameters and optimizer state.

import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import { Node } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';
import type { Model } from '../onnx/model.js';
import type { BatchStats } from '../ops/expand-norm.js';
import { GRADIENTS } from '../ops/gradients.js';
import { buildBackward, expandForTraining, prepareForward } from './backward.js';
import { appendLoss, LOSS_INPUTS, type LossSpec } from './losses.js';
import { appendUpdate, type InGraphUpdate, type OptimizerConfig } from './optimizers.js';
import { probeFacts } from './probe.js';

/** Which parameters train: all float weights (default), names matching a pattern, those after a tensor, or a list. */
export interface TrainableSpec {
  pattern?: string | RegExp;
  /** Everything computed from this tensor onward (a cut point: the head after a feature tensor). */
  after?: string;
  names?: string[];
}

export interface TrainingGraphOptions {
  loss: LossSpec;
  /** The model output the loss reads (default: the first output). */
  output?: string;
  trainable?: TrainableSpec;
  batchNorm?: 'frozen' | 'batch';
  /** Sample feeds of the model's inputs (batch ≥ 2), used to probe shapes. */
  sample: Record<string, ort.Tensor>;
  /** Build the optimizer step into the graph. */
  optimizer?: OptimizerConfig;
  /**
   * Dropout nodes: 'train' (default) rewrites each into x · mask, the mask (0 or 1/(1−ratio) per
   * element) a graph input the loop draws per step from a seeded source, so the backward pass
   * multiplies by the same mask; 'off' keeps them as the identity they are at inference.
   */
  dropout?: 'train' | 'off';
}

/** A Dropout rewritten for training: feed `mask` shaped like `input` (dim 0 is the batch) each step. */
export interface DropoutMask {
  mask: string;
  /** The value the mask multiplies. */
  input: string;
  ratio: number;
  /** Shape of one sample's slice of the input (the mask is [batch, ...sampleShape]). */
  sampleShape: number[];
}

export interface TrainingGraph {
  model: Model;
  /** Trainable parameters (graph inputs), with their gradient outputs. */
  params: { name: string; dims: number[]; grad: string }[];
  frozen: string[];
  loss: string;
  output: string;
  lossInputs: string[];
  batchStats: BatchStats[];
  update?: InGraphUpdate;
  /** Masks to feed each step (empty when the model has no Dropout or dropout is 'off'). */
  dropout: DropoutMask[];
}

/** Float initializers that feed a differentiable input somewhere. */
export function candidateParams(model: Model): string[] {
  const g = model.graph;
  const out = new Set<string>();
  for (const n of g.nodes) {
    const row = GRADIENTS[n.opType];
    const skip = [...(row?.nondiff ?? []), ...(row?.frozen ?? [])];
    n.inputs.forEach((i, k) => {
      const t = g.initializers.get(i);
      if (t && (t.dataType === DataType.FLOAT || t.dataType === DataType.DOUBLE) && t.dims.length > 0 && !skip.includes(k)) out.add(i);
    });
  }
  return [...out];
}

export function selectTrainable(model: Model, spec: TrainableSpec = {}): string[] {
  let names = candidateParams(model);
  if (spec.names) {
    const missing = spec.names.filter((n) => !names.includes(n));
    if (missing.length) throw new UsageError(`not trainable parameters of the model: ${missing.join(', ')}`, 'name float weight initializers');
    names = spec.names;
  }
  if (spec.pattern !== undefined) {
    const re = typeof spec.pattern === 'string' ? new RegExp(spec.pattern) : spec.pattern;
    names = names.filter((n) => re.test(n));
  }
  if (spec.after !== undefined) {
    const g = model.graph;
    if (!g.nodes.some((n) => n.outputs.includes(spec.after!)) && !g.inputs.some((i) => i.name === spec.after))
      throw new UsageError(`no tensor named '${spec.after}' in the model`, 'run `edgefit inspect` to list tensor names');
    const downstream = dependentsAll(model, spec.after);
    names = names.filter((p) => g.nodes.some((n) => n.inputs.includes(p) && n.outputs.some((o) => downstream.has(o))));
  }
  if (names.length === 0) throw new UsageError('no parameter is trainable with these settings', 'loosen --unfreeze / the pattern, or cut earlier');
  return names;
}

/** Values computed from `from` (any input slot). */
function dependentsAll(model: Model, from: string): Set<string> {
  const s = new Set([from]);
  for (const n of model.graph.nodes) if (n.inputs.some((i) => s.has(i))) for (const o of n.outputs) if (o) s.add(o);
  return s;
}

export async function buildTrainingGraph(source: Model, opts: TrainingGraphOptions): Promise<TrainingGraph> {
  const model = source.clone();
  if ((model.opset() ?? 0) < 13)
    throw new UsageError(`training needs opset ≥ 13; the model imports opset ${model.opset()}`, 'upgrade it first: edgefit convert --opset 17');
  if ((model.opset() ?? 0) < 17) model.setOpset('', 17);
  const opset = model.opset()!;
  const g = model.graph;
  const output = opts.output ?? g.outputs[0]?.name;
  if (!output) throw new EdgefitError('the model has no outputs', 'E_NO_OUTPUT');
  const trainable = selectTrainable(model, opts.trainable);
  const frozen = candidateParams(model).filter((p) => !trainable.includes(p));

  // The output's shape sizes the loss inputs.
  const outShape = (await probeFacts(model, opts.sample)).shape(output);
  const classes = outShape[outShape.length - 1] ?? 1;
  const n = outShape[0] ?? 1;
  const paramFeeds: Record<string, ort.Tensor> = {};
  // Trainable weights become inputs.
  const paramDims = new Map<string, number[]>();
  for (const p of trainable) {
    const t = g.initializers.get(p)!;
    paramDims.set(p, [...t.dims]);
    paramFeeds[p] = new ort.Tensor('float32', Float32Array.from(t.toFloat32()), [...t.dims]);
    g.initializers.delete(p);
    g.inputs = g.inputs.filter((i) => i.name !== p);
    g.inputs.push({ name: p, type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [...t.dims] } });
  }
  const b = new GraphBuilder(g);
  const lossNodes = appendLoss(b, output, opts.loss, classes);
  g.outputs = [{ name: lossNodes.loss }, { name: output }];
  g.valueInfo.clear();
  const lossFeeds: Record<string, ort.Tensor> = {};
  const size = outShape.reduce((p, q) => p * q, 1);
  if (opts.loss.kind === 'mse') lossFeeds[LOSS_INPUTS.target] = new ort.Tensor('float32', new Float32Array(size), outShape);
  else {
    lossFeeds[LOSS_INPUTS.target] = new ort.Tensor('float32', new Float32Array(n * classes).fill(1 / classes), [n, classes]);
    lossFeeds[LOSS_INPUTS.weight] = new ort.Tensor('float32', new Float32Array(n).fill(1 / n), [n]);
    if (opts.loss.kind === 'distill') lossFeeds[LOSS_INPUTS.teacher] = new ort.Tensor('float32', new Float32Array(n * classes), [n, classes]);
  }
  const feeds = { ...opts.sample, ...lossFeeds, ...paramFeeds };

  const dropout = opts.dropout === 'off' ? [] : rewriteDropout(model, await probeFacts(model, feeds), n);
  for (const d of dropout)
    feeds[d.mask] = new ort.Tensor('float32', new Float32Array(n * d.sampleShape.reduce((p, q) => p * q, 1)).fill(1 / (1 - d.ratio)), [n, ...d.sampleShape]);

  prepareForward(g, trainable);
  const facts0 = await probeFacts(model, feeds);
  const batchStats = expandForTraining(g, trainable, facts0, opset, { batchNorm: opts.batchNorm ?? 'frozen' });
  const facts = await probeFacts(model, feeds);
  const grads = buildBackward(g, lossNodes.loss, trainable, facts, opset);
  const params = trainable.map((p) => ({ name: p, dims: paramDims.get(p)!, grad: grads.get(p)! }));
  g.outputs.push(...params.map((p) => ({ name: p.grad })));
  for (const s of batchStats) g.outputs.push({ name: s.batchMean }, { name: s.batchVar });
  let update: InGraphUpdate | undefined;
  if (opts.optimizer) {
    update = appendUpdate(new GraphBuilder(g), opts.optimizer, grads);
    g.outputs.push({ name: update.gradNorm }, ...update.slots.flatMap((s) => [s.newParam, ...s.newState].map((name) => ({ name }))));
  }
  return { model, params, frozen, loss: lossNodes.loss, output, lossInputs: lossNodes.inputs, batchStats, update, dropout };
}

/** The constant value of a scalar input (an initializer or a Constant node's output), else undefined. */
function constantScalar(model: Model, name: string): number | undefined {
  const t = model.graph.initializers.get(name) ?? model.graph.nodes.find((n) => n.opType === 'Constant' && n.outputs[0] === name)?.tensor('value');
  if (t?.size !== 1) return undefined;
  return Number(t.toNumbers()[0]);
}

/** Rewrites every Dropout into Mul(x, mask input); see TrainingGraphOptions.dropout. */
function rewriteDropout(model: Model, facts: Awaited<ReturnType<typeof probeFacts>>, batch: number): DropoutMask[] {
  const g = model.graph;
  const out: DropoutMask[] = [];
  const fresh = g.namer();
  for (let k = 0; k < g.nodes.length; k++) {
    const n = g.nodes[k]!;
    if (n.opType !== 'Dropout' || !n.isDefaultDomain) continue;
    const x = n.inputs[0]!;
    const where = `Dropout node '${n.name || `#${k}`}'`;
    let ratio = 0.5;
    if (n.inputs[1]) {
      const r = constantScalar(model, n.inputs[1]);
      if (r === undefined)
        throw new UsageError(`${where}: its ratio is not a constant`, 'make the ratio an initializer, or build the training graph with dropout: off');
      ratio = r;
    } else if (n.attributes.has('ratio')) ratio = n.float('ratio', 0.5);
    if (!(ratio >= 0 && ratio < 1)) throw new UsageError(`${where}: ratio ${ratio} is outside [0, 1)`);
    const shape = facts.shape(x);
    if (shape[0] !== batch)
      throw new UsageError(
        `${where}: its input's first dimension is not the batch (shape [${shape}] for a batch of ${batch})`,
        'build the training graph with dropout: off',
      );
    const mask = fresh(`dropout_mask.${out.length}`);
    g.inputs.push({ name: mask, type: { kind: 'tensor', elemType: DataType.FLOAT, shape: ['batch', ...shape.slice(1)] } });
    const nodes: Node[] = [new Node('Mul', [x, mask], [n.outputs[0]!], `${n.name || 'Dropout'}/train_mask`)];
    // the optional mask output: true where kept
    if (n.outputs[1]) nodes.push(new Node('Greater', [mask, constantZero(model, fresh)], [n.outputs[1]], `${n.name || 'Dropout'}/train_keep`));
    g.nodes.splice(k, 1, ...nodes);
    k += nodes.length - 1;
    out.push({ mask, input: x, ratio, sampleShape: shape.slice(1) });
  }
  return out;
}

function constantZero(model: Model, fresh: (base: string) => string): string {
  const name = fresh('dropout_zero');
  model.graph.initializers.set(name, Tensor.fromFloat32(name, [], new Float32Array(1)));
  return name;
}

/** One step's dropout mask: each element kept with probability 1 − ratio (scaled by 1/(1 − ratio)), else 0. */
export function dropoutMask(size: number, ratio: number, rng: { next(): number }, into?: Float32Array): Float32Array {
  const m = into ?? new Float32Array(size);
  const keep = 1 / (1 - ratio);
  for (let i = 0; i < size; i++) m[i] = rng.next() < ratio ? 0 : keep;
  return m;
}
