// Learned quantization step sizes for QAT (LSQ, Esser et al. 2020), on the QDQ training form of qat.ts.
// Every float scale S of a QuantizeLinear/DequantizeLinear pair (activations, and weights per channel)
// becomes S' = S·exp(κ·t) with t trained from 0, so step 0 is still the PTQ model exactly; the gradient
// w.r.t. S' is LSQ's (ops/grad-quant.ts), and κ is set so that Adam moves a scale by about 0.2% a step
// whatever the learning rate. An int32 bias must follow its conv's scales (ORT's QLinearConv reads it at
// x_scale·w_scale): in this mode a bias b = u·s_b trains as round(b / s')·s' with s' = s_x'·s_w' (the
// STE through Round), and is coded at export at that s', so the export computes what training computed;
// its conv's two scales are found through the DequantizeLinear nodes in front of the conv.

import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';
import { Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';

/** How far (in log units) one Adam step of size lr moves a learned scale. */
export const SCALE_STEP = 0.002;

export interface LearnedScale {
  /** The scale initializer of the QDQ model (rewritten on export). */
  scale: string;
  /** The trained log offset t, in units of κ. */
  param: string;
  kappa: number;
}

/** The scales of the ops a bias feeds: its value is coded at s_x·s_w on export. */
export interface BiasTie {
  x: string;
  w: string;
}

const isQdq = (n: Node) => n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear';

/** The input and weight scales of the op that reads `bias` (a Conv or Gemm fed by DequantizeLinear on both). */
export function biasTie(model: Model, bias: string): BiasTie {
  const g = model.graph;
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const user = g.nodes.find((n) => n.inputs[2] === bias && (n.opType === 'Conv' || n.opType === 'Gemm'));
  const [x, w] = [user?.inputs[0], user?.inputs[1]].map((i) => (i ? producer.get(i) : undefined));
  if (!user || x?.opType !== 'DequantizeLinear' || w?.opType !== 'DequantizeLinear')
    throw new UsageError(`learned scales: the int32 bias behind ${bias} does not feed a Conv or Gemm with dequantized input and weight`, 'train without --lsq');
  return { x: x.inputs[1]!, w: w.inputs[1]! };
}

/** A bias of the training form: `value` (u·s_b, float) is what the op should read as `out`, coded at its tie's scales. */
export interface TiedBias {
  value: string;
  out: string;
  tie: BiasTie;
}

/** Rewrites every Q/DQ scale of the (already trainable) model to S·exp(κ·t), and codes each tied bias at the learned s_x'·s_w'; returns the scales learned. */
export function learnScales(model: Model, lr: number, biases: readonly TiedBias[] = []): LearnedScale[] {
  if (!(lr > 0)) throw new UsageError(`learned scales need a learning rate above 0, got ${lr}`);
  const g = model.graph;
  const fresh = g.namer();
  const kappa = SCALE_STEP / lr;
  const names = [...new Set(g.nodes.filter(isQdq).map((n) => n.inputs[1]!))].filter((s) => g.initializers.get(s)?.dataType === DataType.FLOAT);
  const learned: LearnedScale[] = [];
  const nodes: Node[] = [];
  const rename = new Map<string, string>();
  for (const scale of names) {
    const s = g.initializers.get(scale)!;
    // a parameter has at least one dim (a per-tensor scale's offset is [1], reshaped back to a scalar)
    const param = fresh(`${scale}.lsq`);
    g.initializers.set(param, Tensor.fromFloat32(param, s.dims.length ? s.dims : [1], new Float32Array(s.size)));
    const k = fresh(`${scale}.lsq_kappa`);
    g.initializers.set(k, Tensor.fromFloat32(k, [], Float32Array.of(kappa)));
    const [scaled, factor, out] = [fresh(`${scale}.lsq_scaled`), fresh(`${scale}.lsq_factor`), fresh(`${scale}.learned`)];
    nodes.push(new Node('Mul', [param, k], [scaled], fresh(`${scale}/lsq_Mul`)));
    if (s.dims.length) nodes.push(new Node('Exp', [scaled], [factor], fresh(`${scale}/lsq_Exp`)));
    else {
      const [raw, shape] = [fresh(`${scale}.lsq_factor1`), fresh(`${scale}.lsq_scalar`)];
      g.initializers.set(shape, Tensor.fromInt64(shape, [0], []));
      nodes.push(new Node('Exp', [scaled], [raw], fresh(`${scale}/lsq_Exp`)), new Node('Reshape', [raw, shape], [factor], fresh(`${scale}/lsq_Reshape`)));
    }
    nodes.push(new Node('Mul', [scale, factor], [out], fresh(`${scale}/lsq_Scale`)));
    rename.set(scale, out);
    learned.push({ scale, param, kappa });
  }
  for (const n of g.nodes) if (isQdq(n) && rename.has(n.inputs[1]!)) n.inputs[1] = rename.get(n.inputs[1]!)!;
  for (const b of biases) {
    const [sx, sw] = [b.tie.x, b.tie.w].map((v) => rename.get(v) ?? v);
    const [step, ratio, rounded] = [fresh(`${b.out}.step`), fresh(`${b.out}.codes`), fresh(`${b.out}.rounded`)];
    nodes.push(
      new Node('Mul', [sx!, sw!], [step], fresh(`${b.out}/lsq_Step`)),
      new Node('Div', [b.value, step], [ratio], fresh(`${b.out}/lsq_Div`)),
      new Node('Round', [ratio], [rounded], fresh(`${b.out}/lsq_Round`)),
      new Node('Mul', [rounded, step], [b.out], fresh(`${b.out}/lsq_Bias`)),
    );
  }
  // the scale and bias nodes read only initializers and values made before them, so they go in front
  // (a bias's value node comes first among the model's own nodes)
  const values = new Set(biases.map((b) => b.value));
  const valueNodes = new Set(g.nodes.filter((n) => n.outputs.some((o) => values.has(o))));
  g.nodes = [...valueNodes, ...nodes, ...g.nodes.filter((n) => !valueNodes.has(n))];
  return learned;
}

/** The learned values of each scale after training: S·exp(κ·t), in float32 as the graph computes it. */
export function learnedValues(qdq: Model, trained: Model, scales: readonly LearnedScale[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const l of scales) {
    const s = qdq.graph.initializers.get(l.scale)!.toFloat32();
    const t = trained.graph.initializers.get(l.param)!.toFloat32();
    const k = Math.fround(l.kappa);
    out.set(
      l.scale,
      Float32Array.from(s, (v, i) => Math.fround(v * Math.fround(Math.exp(Math.fround(t[i]! * k))))),
    );
  }
  return out;
}
