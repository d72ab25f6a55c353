// Quantization-aware training on the QDQ model that static int8 emits: its weight DequantizeLinear
// nodes get a QuantizeLinear in front, fed by a float master copy of the weights (initialised to the
// dequantized int8 values, so step 0 computes exactly the PTQ model); the Q/DQ pairs on activations
// are kept as they are. Gradients pass by the straight-through estimator (ops/grad-quant.ts). The fp32
// model is the teacher (KL on its soft outputs, per frame for sequence outputs; plus the task loss on
// labels). Export writes the trained weights back as int8 codes with the same scales: the result is
// the same QDQ graph ORT fuses into QLinear kernels, and it computes what the training graph computed.
// The master copy is held in units of its quantization step (u = w/s, so it starts at the int8 codes):
// Adam moves every parameter by about lr per step, and in these units lr is a number of codes for every
// channel alike — in plain units a channel with a tiny scale would jump across its whole range.
//   weight:  u (trains) · s_w → QuantizeLinear(s_w, 0, axis) → DequantizeLinear → Conv/MatMul/Gemm
//   bias:    u (trains) → Round → Mul(s_b)   ≡ DequantizeLinear(round(u) as int32, s_b)
// With learned scales (LSQ, qat-lsq.ts) every Q/DQ scale trains too, and a bias is coded at the learned
// s_x·s_w, in training as on export.

import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';
import { Node, attr } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import type { ArrayDataset } from './dataset.js';
import { biasTie, learnedValues, learnScales, type BiasTie, type LearnedScale, type TiedBias } from './qat-lsq.js';
import { distill, type DistillEpoch } from './distill.js';
import type { OptimizerConfig } from './optimizers.js';

interface FakeWeight {
  /** The int8 (or int32 bias) initializer of the QDQ model, rewritten on export. */
  codes: string;
  /** Its float master copy in the training model. */
  float: string;
  /** The scale the master copy is in units of (weights: its broadcast copy; biases: the bias scale). */
  scale: string;
  /** Weights: the Q/DQ scale initializer that quantizes it (learned with LSQ). */
  qscale?: string;
  zeroPoint: string | undefined;
  axis: number;
  kind: 'weight' | 'bias';
  /** Biases with learned scales: the scales of the op it feeds. */
  tie?: BiasTie;
}

export interface QatModel {
  /** The QDQ model with float master weights behind QuantizeLinear (train this). */
  model: Model;
  weights: FakeWeight[];
  /** The learned scales (empty without LSQ). */
  scales: LearnedScale[];
  /** Every parameter to train: the master copies, and the scales' log offsets with LSQ. */
  trainable: string[];
}

export interface QatModelOptions {
  /** Train the int32 biases too (default true). */
  trainBias?: boolean;
  /** Learn every Q/DQ scale (LSQ); the learning rate sets how far a step moves a scale. */
  learnScales?: { lr: number };
}

const QMIN_QMAX: Record<number, [number, number]> = {
  [DataType.INT8]: [-128, 127],
  [DataType.UINT8]: [0, 255],
  [DataType.INT32]: [-(2 ** 31), 2 ** 31 - 1],
};

/** Round half to even, as QuantizeLinear and Round do. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function perIndex(dims: readonly number[], axis: number): (i: number) => number {
  const inner = dims.slice(axis + 1).reduce((p, q) => p * q, 1);
  const len = dims[axis] ?? 1;
  return (i) => Math.floor(i / inner) % len;
}

/** The scale of a Q/DQ node shaped to broadcast against its [rank]-d data along `axis`. */
function broadcastScale(s: Tensor, rank: number, axis: number, name: string): Tensor {
  if (s.dims.length === 0) return s.withName(name);
  const a = axis < 0 ? axis + rank : axis;
  return Tensor.fromFloat32(
    name,
    Array.from({ length: rank }, (_, k) => (k === a ? s.dims[0]! : 1)),
    s.toFloat32(),
  );
}

/** The QDQ model made trainable: see the file comment. Biases train too unless `trainBias` is false. */
export function makeQatModel(qdq: Model, opts: QatModelOptions = {}): QatModel {
  const lsq = opts.learnScales !== undefined;
  if (lsq && opts.trainBias === false) throw new UsageError("learned scales need the biases to train (each follows its conv's scales)", 'leave trainBias on');
  const model = qdq.clone();
  const g = model.graph;
  const fresh = g.namer();
  const weights: FakeWeight[] = [];
  const tied: TiedBias[] = [];
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    const [codes, scale, zp] = n.inputs;
    const q = n.opType === 'DequantizeLinear' && codes ? g.initializers.get(codes) : undefined;
    const s = scale ? g.initializers.get(scale) : undefined;
    if (!q || !s || (q.dataType !== DataType.INT8 && q.dataType !== DataType.INT32) || q.dims.length === 0) {
      nodes.push(n);
      continue;
    }
    const axis = n.int('axis', 1);
    const z = zp ? g.initializers.get(zp) : undefined;
    const zv = z?.toNumbers();
    const ch = s.size > 1 ? perIndex(q.dims, axis < 0 ? axis + q.dims.length : axis) : () => 0;
    // the master copy in code units: (q − zp), so that u·s is what DequantizeLinear computed
    const float = fresh(`${codes}.float`);
    g.initializers.set(
      float,
      Tensor.fromFloat32(
        float,
        q.dims,
        Float32Array.from(q.toNumbers(), (v, i) => Number(v) - Number(zv?.[ch(i)] ?? 0)),
      ),
    );
    if (q.dataType === DataType.INT8) {
      const bs = fresh(`${scale}.broadcast`);
      g.initializers.set(bs, broadcastScale(s, q.dims.length, axis, bs));
      const w = fresh(`${codes}.weight`);
      const fq = fresh(`${codes}.fake`);
      const qn = new Node('QuantizeLinear', [w, scale!, ...(zp ? [zp] : [])], [fq], fresh(`${n.name}/qat_QuantizeLinear`));
      if (n.attributes.has('axis')) qn.set('axis', attr.int(axis));
      n.inputs[0] = fq;
      nodes.push(new Node('Mul', [float, bs], [w], fresh(`${n.name}/qat_Mul`)), qn, n);
      weights.push({ codes: codes!, float, scale: bs, qscale: scale!, zeroPoint: zp, axis, kind: 'weight' });
    } else if (opts.trainBias !== false && q.dims.length === 1 && (!z || z.toNumbers().every((v) => Number(v) === 0))) {
      // int32 biases: QuantizeLinear has no int32 output before opset 21, so round(u)·s is spelled out;
      // with learned scales the bias is u·s in float, coded at export with the learned scales
      if (lsq) {
        const value = fresh(`${codes}.value`);
        nodes.push(new Node('Mul', [float, scale!], [value], fresh(`${n.name}/qat_Mul`)));
        tied.push({ value, out: n.outputs[0]!, tie: biasTie(qdq, n.outputs[0]!) });
      } else {
        const rnd = fresh(`${codes}.round`);
        nodes.push(
          new Node('Round', [float], [rnd], fresh(`${n.name}/qat_Round`)),
          new Node('Mul', [rnd, scale!], [n.outputs[0]!], fresh(`${n.name}/qat_Mul`)),
        );
      }
      weights.push({ codes: codes!, float, scale: scale!, zeroPoint: zp, axis, kind: 'bias', ...(lsq ? { tie: tied.at(-1)!.tie } : {}) });
    } else if (lsq && q.dataType === DataType.INT32)
      throw new UsageError(`learned scales: the int32 value behind ${n.name || codes} cannot follow its op's scales`, 'train without --lsq');
    else nodes.push(n);
  }
  g.nodes = nodes;
  g.valueInfo.clear();
  if (!weights.some((w) => w.kind === 'weight'))
    throw new UsageError('the model has no int8 weights behind DequantizeLinear to train', 'quantize it with quantize-static first (QDQ form)');
  const scales = lsq ? learnScales(model, opts.learnScales!.lr, tied) : [];
  return { model, weights, scales, trainable: [...weights.map((w) => w.float), ...scales.map((l) => l.param)] };
}

/** The QDQ model with the trained weights as int8 codes (same scales and zero points). */
export function exportQat(qdq: Model, qat: QatModel, trained: Model): Model {
  const out = qdq.clone();
  const g = out.graph;
  const learned = learnedValues(qdq, trained, qat.scales ?? []);
  for (const [name, v] of learned) g.initializers.set(name, Tensor.fromFloat32(name, g.initializers.get(name)!.dims, v));
  for (const w of qat.weights) {
    const u = trained.graph.initializers.get(w.float)!.toFloat32();
    const codes = g.initializers.get(w.codes)!;
    const s = (trained.graph.initializers.get(w.scale) ?? qdq.graph.initializers.get(w.scale)!).toFloat32();
    // the step each value is coded with: the learned Q/DQ scale, or for a tied bias s_x·s_w learned
    const step = w.tie ? tiedStep(learned, qdq, w.tie, s.length) : ((w.qscale ? learned.get(w.qscale) : undefined) ?? s);
    if (w.tie) g.initializers.set(w.scale, Tensor.fromFloat32(w.scale, step.length > 1 ? [step.length] : g.initializers.get(w.scale)!.dims, step));
    const zv = w.zeroPoint ? g.initializers.get(w.zeroPoint)!.toNumbers() : undefined;
    const [qmin, qmax] = QMIN_QMAX[codes.dataType]!;
    const ch = step.length > 1 ? perIndex(codes.dims, w.axis < 0 ? w.axis + codes.dims.length : w.axis) : () => 0;
    const q = Float64Array.from(u, (v, i) => {
      const c = ch(i);
      const k = s.length > 1 ? c : 0;
      const z = Number(zv?.[c] ?? 0);
      // float32 arithmetic, as the graph computed it: weights Q(u·s) = round(fl(u·s)/s') + zp; biases
      // round(u), or with learned scales fl(u·s)/s' rounded
      const r = w.kind === 'weight' || w.tie ? roundHalfEven(Math.fround(Math.fround(v * s[k]!) / step[c]!)) + z : roundHalfEven(v) + z;
      return Math.min(qmax, Math.max(qmin, r));
    });
    g.initializers.set(w.codes, Tensor.fromNumbers(w.codes, codes.dataType, codes.dims, q));
  }
  out.setMeta(
    'edgefit.qat',
    JSON.stringify({ weights: qat.weights.filter((w) => w.kind === 'weight').length, biases: qat.weights.filter((w) => w.kind === 'bias').length }),
  );
  return out;
}

/** A tied bias's learned step per output channel: fl(s_x'·s_w'), with per-tensor factors broadcast. */
function tiedStep(learned: Map<string, Float32Array>, qdq: Model, tie: BiasTie, channels: number): Float32Array {
  const [x, w] = [tie.x, tie.w].map((n) => learned.get(n) ?? qdq.graph.initializers.get(n)!.toFloat32());
  const n = Math.max(channels, x!.length, w!.length);
  return Float32Array.from({ length: n }, (_, c) => Math.fround(x![x!.length > 1 ? c : 0]! * w![w!.length > 1 ? c : 0]!));
}

export interface QatOptions {
  /** The fp32 model: the teacher. */
  teacher: Model;
  /** Its static-int8 QDQ form (quantize-static's output): the starting point. */
  qdq: Model;
  train: ArrayDataset;
  val?: ArrayDataset;
  temperature?: number;
  alpha?: number;
  epochs?: number;
  batchSize?: number;
  maxSteps?: number;
  optimizer?: Partial<OptimizerConfig>;
  seed?: number;
  trainBias?: boolean;
  /** Learn every Q/DQ scale too (LSQ, qat-lsq.ts). */
  learnScales?: boolean;
  cacheTeacher?: boolean;
  threads?: number;
  deadline?: number;
  onEpoch?: (r: DistillEpoch) => void;
}

export interface QatResult {
  /** The exported QDQ model. */
  model: Model;
  /** The trained model in its training form (float weights behind Q/DQ). */
  trained: Model;
  history: DistillEpoch[];
  steps: number;
  stepsPerSecond: number;
  trainableParams: number;
}

export async function quantizationAwareTraining(opts: QatOptions): Promise<QatResult> {
  const lr = opts.optimizer?.lr ?? 0.05;
  const qat = makeQatModel(opts.qdq, { trainBias: opts.trainBias, ...(opts.learnScales ? { learnScales: { lr } } : {}) });
  const r = await distill({
    teacher: opts.teacher,
    student: qat.model,
    train: opts.train,
    val: opts.val,
    temperature: opts.temperature ?? 1,
    alpha: opts.alpha,
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    maxSteps: opts.maxSteps,
    optimizer: { kind: 'adamw', lr, weightDecay: 0, ...opts.optimizer },
    seed: opts.seed,
    trainable: qat.trainable,
    cacheTeacher: opts.cacheTeacher,
    threads: opts.threads,
    deadline: opts.deadline,
    onEpoch: opts.onEpoch,
  });
  return {
    model: exportQat(opts.qdq, qat, r.model),
    trained: r.model,
    history: r.history,
    steps: r.steps,
    stepsPerSecond: r.stepsPerSecond,
    trainableParams: r.trainableParams,
  };
}
