// Fine-tuning a pretrained model on a task: cut it at a feature tensor (named, or found: the output of
// the last GlobalAveragePool, else the input of the last Flatten/Reshape that feeds the classifier),
// attach a new linear head for the task's classes, train the head only — on features computed once by
// the frozen backbone, which is exact for a frozen backbone and much faster — then optionally unfreeze
// the last blocks and train them with the head through the whole graph.

import * as ort from 'onnxruntime-node';
import { constantsToInitializers } from '../onnx/constants.js';
import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';
import { removeDeadNodes } from '../onnx/graph-utils.js';
import { Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { upgradeOpset } from '../onnx/opset-upgrade.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { datasetSize, sampleSize, type ArrayDataset } from './dataset.js';
import { trainModel, type EpochRecord, type TrainOptions, type TrainResult } from './loop.js';
import { Rng } from './rng.js';
import { addLora, loraCounts, mergeLora, type LoraAdapter, type LoraSpec } from './lora.js';

/** The feature tensor to cut at when none is named. */
export function findFeatureTensor(model: Model): string {
  const nodes = model.graph.nodes;
  for (let k = nodes.length - 1; k >= 0; k--) if (nodes[k]!.opType === 'GlobalAveragePool') return nodes[k]!.outputs[0]!;
  const producers = model.graph.producers();
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]!;
    if (n.opType !== 'MatMul' && n.opType !== 'Gemm') continue;
    const p = producers.get(n.inputs[0]!);
    if (p && (p.opType === 'Flatten' || p.opType === 'Reshape')) return p.inputs[0]!;
    return n.inputs[0]!;
  }
  throw new UsageError(
    'found no feature tensor (no GlobalAveragePool, Flatten or classifier MatMul/Gemm)',
    'name one with --cut <tensor>; `edgefit inspect` lists tensor names',
  );
}

/**
 * Cut points to choose from on validation: the inputs of the last `k` GlobalAveragePool nodes — in
 * mobile CNNs with squeeze-excitation these are the outputs of the last blocks, and the final one is the
 * classifier's pooled feature map — else the one tensor findFeatureTensor gives. Last first.
 */
export function featureCandidates(model: Model, k = 4): string[] {
  const out: string[] = [];
  const nodes = model.graph.nodes;
  for (let j = nodes.length - 1; j >= 0 && out.length < k; j--) {
    const n = nodes[j]!;
    if (n.opType === 'GlobalAveragePool' && !out.includes(n.inputs[0]!)) out.push(n.inputs[0]!);
  }
  return out.length ? out : [findFeatureTensor(model)];
}

/** The model up to `tensor` (or several tensors, one output each), with weights held as initializers and every dim of its input symbolic. */
export function cutAt(source: Model, tensor: string | string[]): Model {
  const m = source.clone();
  constantsToInitializers(m);
  const g = m.graph;
  const tensors = typeof tensor === 'string' ? [tensor] : tensor;
  for (const t of tensors)
    if (!g.nodes.some((n) => n.outputs.includes(t))) throw new UsageError(`no tensor named '${t}' in the model`, '`edgefit inspect` lists tensor names');
  g.outputs = tensors.map((name) => ({ name }));
  removeDeadNodes(g, { initializers: true });
  for (const i of g.realInputs())
    if (i.type?.kind === 'tensor' && i.type.shape)
      i.type.shape = i.type.shape.map((d, k) => (k === 0 ? 'batch' : typeof d === 'number' && k === 1 ? d : `${i.name}_d${k}`));
  g.valueInfo.clear();
  return m;
}

/** Appends pooling (rank > 2) and a linear head [features → classes] named head.weight / head.bias; output 'logits'. */
export function attachHead(backbone: Model, featureShape: number[], classes: number, seed: number, init?: { weight: Float32Array; bias: Float32Array }): Model {
  const m = backbone.clone();
  const g = m.graph;
  let x = g.outputs[0]!.name;
  const features = featureShape.slice(1).reduce((p, q) => p * q, 1) / (featureShape.length > 2 ? featureShape.slice(2).reduce((p, q) => p * q, 1) : 1);
  const add = (opType: string, inputs: string[], out: string, attrs: Record<string, number> = {}) => {
    g.nodes.push(
      new Node(opType, inputs, [out], `head/${opType}`, '', Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, { type: 'int' as const, value: v }]))),
    );
    return out;
  };
  if (featureShape.length > 2 && featureShape.slice(2).some((d) => d !== 1)) x = add('GlobalAveragePool', [x], 'head.pooled');
  if (featureShape.length > 2) x = add('Flatten', [x], 'head.features', { axis: 1 });
  const rng = new Rng(seed);
  const w = init?.weight ?? Float32Array.from({ length: features * classes }, () => rng.normal() * Math.sqrt(1 / features));
  g.initializers.set('head.weight', Tensor.fromFloat32('head.weight', [features, classes], w));
  g.initializers.set('head.bias', Tensor.fromFloat32('head.bias', [classes], init?.bias ?? new Float32Array(classes)));
  add('Add', [add('MatMul', [x, 'head.weight'], 'head.matmul'), 'head.bias'], 'logits');
  g.outputs = [{ name: 'logits', type: { kind: 'tensor', elemType: DataType.FLOAT, shape: ['batch', classes] } }];
  m.setMeta('edgefit.finetune.feature', backbone.graph.outputs[0]!.name);
  return m;
}

/** Runs the backbone over a dataset: the pooled, flattened features of each sample (of its first output). */
export async function computeFeatures(backbone: Model, data: ArrayDataset, threads = 1, batch = 32): Promise<{ data: ArrayDataset; shape: number[] }> {
  const all = await computeFeaturesMany(backbone, data, threads, batch);
  return all.get(backbone.graph.outputs[0]!.name)!;
}

/** computeFeatures for every output of a backbone cut at several tensors, in one pass over the data. */
export async function computeFeaturesMany(
  backbone: Model,
  data: ArrayDataset,
  threads = 1,
  batch = 32,
): Promise<Map<string, { data: ArrayDataset; shape: number[] }>> {
  const session = await createSession(backbone, { threads });
  const input = session.inputNames[0]!;
  const n = datasetSize(data);
  const s = sampleSize(data);
  const acc = new Map<string, { out: Float32Array; per: number; shape: number[] }>();
  for (let first = 0; first < n; first += batch) {
    const k = Math.min(batch, n - first);
    const r = await session.run({ [input]: new ort.Tensor('float32', data.x.subarray(first * s, (first + k) * s), [k, ...data.sampleShape]) });
    for (const name of session.outputNames) {
      const t = r[name]!;
      const shape = [...t.dims];
      const spatial = shape.length > 2 ? shape.slice(2).reduce((p, q) => p * q, 1) : 1;
      const per = shape.length > 2 ? (shape[1] ?? 1) : shape.slice(1).reduce((p, q) => p * q, 1);
      let a = acc.get(name);
      if (!a) acc.set(name, (a = { out: new Float32Array(n * per), per, shape }));
      const v = t.data as Float32Array;
      // global average over the spatial dims (the head pools the same way)
      for (let i = 0; i < k; i++)
        for (let c = 0; c < per; c++) {
          let sum = 0;
          for (let j = 0; j < spatial; j++) sum += v[(i * per + c) * spatial + j]!;
          a.out[(first + i) * per + c] = sum / spatial;
        }
    }
  }
  await session.release();
  return new Map([...acc].map(([name, a]) => [name, { data: { x: a.out, labels: data.labels, sampleShape: [a.per], classes: data.classes }, shape: a.shape }]));
}

/** Parameters of the last `n` weight layers (Conv/MatMul/Gemm) and the BatchNorms right after them. */
export function lastBlocks(model: Model, n: number): string[] {
  const g = model.graph;
  const consumers = g.consumers();
  const layers = g.nodes.filter(
    (x) =>
      (x.opType === 'Conv' || x.opType === 'MatMul' || x.opType === 'Gemm') &&
      x.inputs.slice(1).some((i) => g.initializers.has(i)) &&
      !x.name.startsWith('head/'),
  );
  const names: string[] = [];
  for (const layer of layers.slice(-n)) {
    for (const i of layer.inputs.slice(1)) if (g.initializers.has(i)) names.push(i);
    for (const c of consumers.get(layer.outputs[0]!) ?? []) if (c.opType === 'BatchNormalization') names.push(c.inputs[1]!, c.inputs[2]!);
  }
  return names;
}

/** Re-initialises every weight of a model at random (He-normal convs/matmuls, BatchNorm to identity): the no-pretraining baseline. */
export function randomizeWeights(source: Model, seed: number): Model {
  const m = source.clone();
  constantsToInitializers(m);
  const g = m.graph;
  const rng = new Rng(seed);
  const bn = new Map<string, 'one' | 'zero'>();
  for (const n of g.nodes)
    if (n.opType === 'BatchNormalization') {
      for (const k of [1, 4]) if (n.inputs[k]) bn.set(n.inputs[k]!, 'one');
      for (const k of [2, 3]) if (n.inputs[k]) bn.set(n.inputs[k]!, 'zero');
    }
  const weights = new Set<string>();
  for (const n of g.nodes) if (n.opType === 'Conv' || n.opType === 'MatMul' || n.opType === 'Gemm') weights.add(n.inputs[1]!);
  for (const [name, t] of g.initializers) {
    if (t.dataType !== DataType.FLOAT || t.dims.length === 0) continue;
    const size = t.size;
    let v: Float32Array;
    if (bn.has(name)) v = new Float32Array(size).fill(bn.get(name) === 'one' ? 1 : 0);
    else if (weights.has(name) && t.dims.length >= 2) {
      const fanIn = t.dims.length === 2 ? t.dims[0]! : t.dims.slice(1).reduce((p, q) => p * q, 1);
      v = Float32Array.from({ length: size }, () => rng.normal() * Math.sqrt(2 / fanIn));
    } else if (t.dims.length === 1 && weights.size && [...g.nodes].some((n) => n.opType === 'Conv' && n.inputs[2] === name)) v = new Float32Array(size);
    else continue;
    g.initializers.set(name, Tensor.fromFloat32(name, t.dims, v));
  }
  return m;
}

export interface FinetuneOptions extends Omit<TrainOptions, 'model' | 'train' | 'trainable' | 'input' | 'output'> {
  model: Model;
  train: ArrayDataset;
  /** Tensor to cut at (default: the best on validation of featureCandidates(), or the found feature tensor without a validation set). */
  cut?: string;
  /** How many cut points to try when none is named (default 4). */
  candidates?: number;
  /** After the head: unfreeze the last n weight layers, 'all' (every weight), or parameters matching a pattern. */
  unfreeze?: number | string;
  /** Epochs of the unfreeze phase (default: epochs). */
  unfreezeEpochs?: number;
  /** Learning rate of the unfreeze phase (default: lr / 10; with LoRA, lr). */
  unfreezeLr?: number;
  /** Instead of unfreezing weights, train low-rank adapters on them (with the head) and merge them on export. */
  lora?: LoraSpec;
  /** Called once the head is trained and the cut chosen, before any unfreeze phase (onEpoch reports that phase only). */
  onHead?: (r: { feature: string; cuts: CutTrial[]; head: TrainResult }) => void;
}

export interface CutTrial {
  tensor: string;
  features: number;
  /** Best validation score of the head on this cut (macro-F1 or accuracy, as `select`). */
  score: number;
  valAccuracy: number;
  valMacroF1: number;
}

export interface FinetuneResult {
  model: Model;
  feature: string;
  featureShape: number[];
  /** Every cut tried and its head's validation score (one entry when the cut was named). */
  cuts: CutTrial[];
  head: TrainResult;
  unfrozen?: TrainResult;
  /** The adapters trained with --lora (merged into the returned model), and their parameter count. */
  lora?: { adapters: number; trainable: number; adapted: number };
  /** Whether the model is the unfrozen one (false: the unfreeze phase did not beat the head on validation, so the head-only model is returned). */
  unfrozenKept?: boolean;
  /**
   * With --lora: what the returned model adds to the base, for an adapter file (lora-adapter.ts): the
   * trained A and B (none when the head alone was kept) and the head, and the opset it was built at.
   */
  loraParts?: { adapters: LoraAdapter[]; tensors: Tensor[]; classes: number; opset?: number };
}

export interface LinearHead {
  result: TrainResult;
  /** Weights [features, classes] and bias, with the standardisation folded in: they apply to raw features. */
  weight: Float32Array;
  bias: Float32Array;
  /** The best epoch's validation record (undefined without a validation set). */
  best?: EpochRecord;
}

/**
 * Trains a linear classifier on fixed feature vectors: standardised per feature (mean 0, std 1 on the
 * training set), trained with trainModel, and the scaling folded back into the weights:
 *   w′[f,c] = w[f,c]/σ_f,  b′[c] = b[c] − Σ_f μ_f·w[f,c]/σ_f
 * Also the sanity baseline on raw pixels (bench/train.ts).
 */
export async function trainLinearHead(
  train: ArrayDataset,
  val: ArrayDataset | undefined,
  opts: Omit<TrainOptions, 'model' | 'train' | 'val'>,
): Promise<LinearHead> {
  const F = sampleSize(train);
  const classes = train.classes.length;
  const flat = (d: ArrayDataset): ArrayDataset => ({ ...d, sampleShape: [F] });
  const { mean, std } = featureStats(flat(train));
  const standardise = (d: ArrayDataset): ArrayDataset => {
    const x = new Float32Array(d.x.length);
    for (let i = 0; i < x.length; i++) x[i] = (d.x[i]! - mean[i % F]!) / std[i % F]!;
    return { ...flat(d), x };
  };
  const { buildMlp } = await import('./models.js');
  const { checkpoint: _ck, resume: _rs, ...rest } = opts;
  void _ck;
  void _rs;
  const result = await trainModel({ ...rest, model: buildMlp([F, classes], opts.seed ?? 0), train: standardise(train), val: val && standardise(val) });
  result.trained = result.trained.map((t) => ({ ...t, name: t.name.replace(/^fc1\./, 'head.') }));
  const weight = Float32Array.from(result.model.graph.initializers.get('fc1.weight')!.toFloat32());
  const bias = Float32Array.from(result.model.graph.initializers.get('fc1.bias')!.toFloat32());
  for (let f = 0; f < F; f++)
    for (let c = 0; c < classes; c++) {
      weight[f * classes + c] = weight[f * classes + c]! / std[f]!;
      bias[c] = bias[c]! - mean[f]! * weight[f * classes + c]!;
    }
  return { result, weight, bias, best: result.bestEpoch > 0 ? result.history[result.bestEpoch - 1] : undefined };
}

/** Checks finetune's own options before any work: each mistake is one usage error naming the option. */
function checkFinetuneOptions(opts: FinetuneOptions, source: Model): void {
  const c = opts.candidates;
  if (c !== undefined && !(Number.isInteger(c) && c >= 1))
    throw new UsageError(`candidates must be a whole number ≥ 1, got ${c}`, 'e.g. --candidates 4, or name the cut with --cut');
  const u = opts.unfreeze;
  if (typeof u === 'number' && !(Number.isInteger(u) && u >= 0)) throw new UsageError(`unfreeze must be a number of layers ≥ 0, 'all' or a pattern; got ${u}`);
  if (typeof u === 'string' && u !== 'all') {
    let re: RegExp;
    try {
      re = new RegExp(u);
    } catch (e) {
      throw new UsageError(
        `--unfreeze '${u}' is not a valid pattern: ${(e as Error).message}`,
        "give a number of layers (e.g. 2), 'all', or a regular expression over weight names (e.g. 'conv5|conv6')",
      );
    }
    const weights = [...source.graph.initializers.values()].filter((t) => t.dims.length > 0).map((t) => t.name);
    if (!weights.some((w) => re.test(w)))
      throw new UsageError(
        `--unfreeze '${u}' matches no weight of the model`,
        `give a number of layers (e.g. 2), 'all', or a pattern over its weight names: ${weights.slice(0, 6).join(', ')}${weights.length > 6 ? ', …' : ''}`,
      );
  }
  if (opts.unfreezeEpochs !== undefined && !(Number.isInteger(opts.unfreezeEpochs) && opts.unfreezeEpochs >= 1))
    throw new UsageError(`unfreeze epochs must be a whole number ≥ 1, got ${opts.unfreezeEpochs}`);
  if (opts.unfreezeLr !== undefined && !(opts.unfreezeLr > 0 && Number.isFinite(opts.unfreezeLr)))
    throw new UsageError(`unfreeze learning rate must be a positive number, got ${opts.unfreezeLr}`, 'e.g. --unfreeze-lr 0.001');
  if (opts.cut !== undefined && source.graph.outputs.some((o) => o.name === opts.cut))
    throw new UsageError(
      `--cut '${opts.cut}' is the model's output, not a feature tensor`,
      'cut before the classifier (e.g. at the pooled features), or leave out --cut to have the cut found',
    );
}

export async function finetune(opts: FinetuneOptions): Promise<FinetuneResult> {
  const classes = opts.train.classes.length;
  const select = opts.select ?? 'macro-f1';
  const source = constantsToInitializersCopy(opts.model);
  checkFinetuneOptions(opts, source);
  // Cut points: the named one, or several tried on validation (features for all come from one pass).
  const tensors = opts.cut ? [opts.cut] : opts.val ? featureCandidates(source, opts.candidates ?? 4) : [findFeatureTensor(source)];
  const threads = opts.threads ?? 1;
  const multi = cutAt(opts.model, tensors);
  const trainF = await computeFeaturesMany(multi, opts.train, threads);
  const valF = opts.val ? await computeFeaturesMany(multi, opts.val, threads) : undefined;
  const { model: _m, train: _t, cut: _c, candidates: _n, unfreeze, unfreezeEpochs, unfreezeLr, onHead, lora: loraSpec, ...rest } = opts;
  void _m;
  void _t;
  void _c;
  void _n;
  // Checkpoints hold the whole model, so they belong to the unfreeze phase; the head phase takes seconds.
  const { checkpoint, resume, onEpoch: _e, progress: _p, ...headRest } = rest;
  void _e;
  void _p;
  let chosen: { tensor: string; head: LinearHead; shape: number[] } | undefined;
  const cuts: CutTrial[] = [];
  for (const tensor of tensors) {
    const head = await trainLinearHead(trainF.get(tensor)!.data, valF?.get(tensor)?.data, { ...headRest, select });
    const b = head.best;
    const trial = {
      tensor,
      features: trainF.get(tensor)!.data.sampleShape[0]!,
      score: b ? (select === 'macro-f1' ? b.valMacroF1! : b.valAccuracy!) : NaN,
      valAccuracy: b?.valAccuracy ?? NaN,
      valMacroF1: b?.valMacroF1 ?? NaN,
    };
    cuts.push(trial);
    if (!chosen || trial.score > cuts.find((c) => c.tensor === chosen!.tensor)!.score) chosen = { tensor, head, shape: trainF.get(tensor)!.shape };
  }
  const feature = chosen!.tensor;
  onHead?.({ feature, cuts, head: chosen!.head.result });
  const backbone = cutAt(opts.model, feature);
  let model = attachHead(backbone, chosen!.shape, classes, opts.seed ?? 0, { weight: chosen!.head.weight, bias: chosen!.head.bias });
  let unfrozen: TrainResult | undefined;
  let unfrozenKept: boolean | undefined;
  let loraInfo: FinetuneResult['lora'];
  let loraParts: FinetuneResult['loraParts'];
  if (loraSpec || (unfreeze !== undefined && unfreeze !== 0)) {
    if ((model.opset() ?? 0) < 13) upgradeOpset(model, 17);
    // --lora: adapters on the backbone's weights (the pattern chooses which) train with the head
    const headModel = model;
    const lora = loraSpec ? addLora(model, { ...loraSpec, pattern: loraSpec.pattern ?? '^(?!head\\.)' }) : undefined;
    if (lora) {
      model = lora.model;
      loraInfo = { adapters: lora.adapters.length, ...loraCounts(lora.adapters) };
    }
    const names = lora
      ? [...lora.trainable, 'head.weight', 'head.bias']
      : typeof unfreeze === 'number'
        ? [...lastBlocks(model, unfreeze), 'head.weight', 'head.bias']
        : undefined;
    // LoRA runs hotter than unfreezing (its B starts at zero): here 10× (lr instead of lr / 10), which the
    // wide-MLP bench needs to beat the head alone; the CLI's absolute default is 3e-3 (README, "LoRA")
    const lr = unfreezeLr ?? ((opts.optimizer?.lr ?? 1e-3) / 10) * (loraSpec ? 10 : 1);
    unfrozen = await trainModel({
      ...rest,
      select,
      checkpoint,
      resume,
      epochs: unfreezeEpochs ?? opts.epochs,
      model,
      train: opts.train,
      val: opts.val,
      trainable: names ? { names } : unfreeze === 'all' ? undefined : { pattern: `${unfreeze}|^head\\.` },
      batchNorm: 'frozen',
      optimizer: { ...opts.optimizer, lr },
    });
    // keep the unfrozen model only when it beats the head alone on validation
    const score = (r: EpochRecord | undefined) => (r ? (select === 'macro-f1' ? r.valMacroF1! : r.valAccuracy!) : NaN);
    const before = score(chosen!.head.best);
    const after = score(unfrozen.bestEpoch > 0 ? unfrozen.history[unfrozen.bestEpoch - 1] : undefined);
    unfrozenKept = !(after < before);
    if (unfrozenKept) model = lora ? mergeLora(withHead(headModel, unfrozen.model), unfrozen.model, lora.adapters) : unfrozen.model;
    else model = headModel;
    if (lora) {
      const from = unfrozenKept ? unfrozen.model : headModel;
      const names = [...(unfrozenKept ? lora.trainable : []), 'head.weight', 'head.bias'];
      loraParts = {
        adapters: unfrozenKept ? lora.adapters : [],
        tensors: names.map((n) => from.graph.initializers.get(n)!),
        classes,
        opset: headModel.opset(),
      };
    }
  }
  return { model, feature, featureShape: chosen!.shape, cuts, head: chosen!.head.result, unfrozen, unfrozenKept, lora: loraInfo, loraParts };
}

function featureStats(d: ArrayDataset): { mean: Float64Array; std: Float64Array } {
  const F = d.sampleShape[0]!;
  const n = d.labels.length;
  const mean = new Float64Array(F);
  const std = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) mean[f]! += d.x[i * F + f]! / n;
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) std[f]! += (d.x[i * F + f]! - mean[f]!) ** 2 / n;
  for (let f = 0; f < F; f++) std[f] = Math.sqrt(std[f]! + 1e-6);
  return { mean, std };
}

/** Class weights inversely proportional to class frequency (mean weight 1 per sample). */
export function balancedClassWeights(d: ArrayDataset): number[] {
  const counts = new Array<number>(d.classes.length).fill(0);
  for (const y of d.labels) counts[y]!++;
  return counts.map((c) => (c ? d.labels.length / (d.classes.length * c) : 0));
}

/** `base` with the trained head's weights. */
function withHead(base: Model, trained: Model): Model {
  const m = base.clone();
  for (const name of ['head.weight', 'head.bias']) m.graph.initializers.set(name, trained.graph.initializers.get(name)!);
  return m;
}

function constantsToInitializersCopy(m: Model): Model {
  const c = m.clone();
  constantsToInitializers(c);
  return c;
}
