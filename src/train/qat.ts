// Quantization-aware training on the QDQ model that static int8 emits: its weight DequantizeLinear
// nodes get a QuantizeLinear in front, fed by a float master copy of the weights (initialised to the
// dequantized int8 values, so step 0 computes exactly the PTQ model); the Q/DQ pairs on activations
// are kept as they are. Gradients pass by the straight-through estimator (ops/grad-quant.ts). The fp32
// model is the teacher (KL on its soft outputs, per frame for sequence outputs; plus the task loss on
// labels). Export writes the trained weights back as int8 codes with the same scales: the result is
// the same QDQ graph ORT fuses into QLinear kernels, and it computes what the training graph computed.
//   weight:  w (float, trains) → QuantizeLinear(s_w, 0, axis) → DequantizeLinear → Conv/MatMul/Gemm
//   bias:    b (float, trains) → Div(s_b) → Round → Mul(s_b)   ≡ DequantizeLinear(round(b/s_b) as int32)

import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';
import { Node, attr } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import type { ArrayDataset } from './dataset.js';
import { distill, type DistillEpoch } from './distill.js';
import type { OptimizerConfig } from './optimizers.js';

interface FakeWeight {
  /** The int8 (or int32 bias) initializer of the QDQ model, rewritten on export. */
  codes: string;
  /** Its float master copy in the training model. */
  float: string;
  scale: string;
  zeroPoint: string | undefined;
  axis: number;
  kind: 'weight' | 'bias';
}

export interface QatModel {
  /** The QDQ model with float master weights behind QuantizeLinear (train this). */
  model: Model;
  weights: FakeWeight[];
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

/** Float values of a DequantizeLinear of constant codes: (q − zp)·s per channel, in float32 as ORT computes them. */
function dequantize(q: Tensor, s: Tensor, zp: Tensor | undefined, axis: number): Float32Array {
  const qv = q.toNumbers();
  const sv = s.toFloat32();
  const zv = zp?.toNumbers();
  const ch = sv.length > 1 ? perIndex(q.dims, axis < 0 ? axis + q.dims.length : axis) : () => 0;
  return Float32Array.from(qv, (v, i) => Math.fround((Number(v) - Number(zv?.[ch(i)] ?? 0)) * sv[ch(i)]!));
}

/** The QDQ model made trainable: see the file comment. Biases train too unless `trainBias` is false. */
export function makeQatModel(qdq: Model, opts: { trainBias?: boolean } = {}): QatModel {
  const model = qdq.clone();
  const g = model.graph;
  const fresh = g.namer();
  const weights: FakeWeight[] = [];
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
    const float = fresh(`${codes}.float`);
    g.initializers.set(float, Tensor.fromFloat32(float, q.dims, dequantize(q, s, z, axis)));
    if (q.dataType === DataType.INT8) {
      const fq = fresh(`${codes}.fake`);
      const qn = new Node('QuantizeLinear', [float, scale!, ...(zp ? [zp] : [])], [fq], fresh(`${n.name}/qat_QuantizeLinear`));
      if (n.attributes.has('axis')) qn.set('axis', attr.int(axis));
      n.inputs[0] = fq;
      nodes.push(qn, n);
      weights.push({ codes: codes!, float, scale: scale!, zeroPoint: zp, axis, kind: 'weight' });
    } else if (opts.trainBias !== false && q.dims.length === 1 && (!z || z.toNumbers().every((v) => Number(v) === 0))) {
      // int32 biases: QuantizeLinear has no int32 output before opset 21, so round(b/s)·s is spelled out
      const div = fresh(`${codes}.div`);
      const rnd = fresh(`${codes}.round`);
      nodes.push(
        new Node('Div', [float, scale!], [div], fresh(`${n.name}/qat_Div`)),
        new Node('Round', [div], [rnd], fresh(`${n.name}/qat_Round`)),
        new Node('Mul', [rnd, scale!], [n.outputs[0]!], fresh(`${n.name}/qat_Mul`)),
      );
      weights.push({ codes: codes!, float, scale: scale!, zeroPoint: zp, axis, kind: 'bias' });
    } else nodes.push(n);
  }
  g.nodes = nodes;
  g.valueInfo.clear();
  if (!weights.some((w) => w.kind === 'weight'))
    throw new UsageError('the model has no int8 weights behind DequantizeLinear to train', 'quantize it with quantize-static first (QDQ form)');
  return { model, weights };
}

/** The QDQ model with the trained weights as int8 codes (same scales and zero points). */
export function exportQat(qdq: Model, qat: QatModel, trained: Model): Model {
  const out = qdq.clone();
  const g = out.graph;
  for (const w of qat.weights) {
    const f = trained.graph.initializers.get(w.float)!.toFloat32();
    const codes = g.initializers.get(w.codes)!;
    const s = g.initializers.get(w.scale)!.toFloat32();
    const zv = w.zeroPoint ? g.initializers.get(w.zeroPoint)!.toNumbers() : undefined;
    const [qmin, qmax] = QMIN_QMAX[codes.dataType]!;
    const ch = s.length > 1 ? perIndex(codes.dims, w.axis < 0 ? w.axis + codes.dims.length : w.axis) : () => 0;
    const q = Float64Array.from(f, (v, i) => {
      const c = ch(i);
      // float32 division, as the graph's QuantizeLinear / Div computed it
      const r = roundHalfEven(Math.fround(v / s[c]!)) + Number(zv?.[c] ?? 0);
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
  const qat = makeQatModel(opts.qdq, { trainBias: opts.trainBias });
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
    optimizer: { kind: 'adamw', lr: 1e-4, weightDecay: 0, ...opts.optimizer },
    seed: opts.seed,
    trainable: qat.weights.map((w) => w.float),
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
