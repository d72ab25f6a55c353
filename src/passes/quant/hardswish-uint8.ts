// HardSwish in uint8, inside a QDQ graph. ORT has no int8 kernel for HardSwish, so a quantized
// HardSwish costs DQ → HardSigmoid → Mul → Q in float between two int8 ops. Written as
//   a = Q(DQ(x) + 3)   with scale 6/255, zero point 0: the saturation of Q is Clip(·, 0, 6)
//   y = Q(DQ(x) · DQ'(a))   where DQ' reads a's codes with scale 1/255, i.e. as a / 6
// it becomes QLinearAdd + QLinearMul, which ORT runs on the uint8 codes. The only new error is a's
// rounding (1/255 in HardSigmoid's output). A Mul by a positive scalar right after the HardSwish
// (PP-LCNet's learnable scale) goes into DQ'(a)'s scale, exactly. A scalar Add after the HardSwish or
// that Mul (PP-LCNet's learnable bias) is folded into the output's zero point: exact when the bias
// is a whole number of output steps, which the scale is nudged to make when the bias spans 8 steps or
// more; otherwise off by under half a step, and the record counts those.

import { DataType } from '../../onnx/dtype.js';
import { type Graph, Node } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { scalarAfter, soleReader } from '../clean/weights.js';
import { uint8QParams } from './graph.js';

export interface HardSwishUint8Stats {
  /** HardSwish nodes rewritten. */
  rewritten: number;
  /** Scalar biases folded into a zero point exactly (scale nudged). */
  biasExact: number;
  /** Scalar biases folded with a rounding of under half a step. */
  biasRounded: number;
}

const MIN_EXACT_STEPS = 8;

/** The value of a one-element initializer of any numeric type (scales, zero points), or undefined. */
function scalar(g: Graph, name: string | undefined): number | undefined {
  const t = name ? g.initializers.get(name) : undefined;
  return t && t.size === 1 ? t.toNumbers()[0] : undefined;
}

interface Site {
  hs: Node;
  dq: Node;
  /** The QuantizeLinear that ends the chain (reads the HardSwish, or the bias Add). */
  q: Node;
  /** A Mul by a positive scalar right after the HardSwish (PP-LCNet's learnable scale): it scales a's DQ. */
  gain?: { node: Node; value: number };
  bias?: { node: Node; value: number };
}

/** HardSwish nodes fed by a per-tensor uint8 DQ and read only by one Q, directly or through one scalar Add. */
function sites(g: Graph): Site[] {
  const producers = g.producers();
  const perTensorU8 = (n: Node) => uint8QParams(g, n) !== undefined;
  const out: Site[] = [];
  for (const hs of g.nodes) {
    if (hs.opType !== 'HardSwish' || !hs.isDefaultDomain) continue;
    const dq = producers.get(hs.inputs[0]!);
    if (dq?.opType !== 'DequantizeLinear' || !perTensorU8(dq)) continue;
    let next = soleReader(g, hs.outputs[0]);
    const scaled = next && scalarAfter(g, next, 'Mul', hs.outputs[0]!);
    if (scaled !== undefined && !(scaled > 0)) continue;
    const gain = scaled === undefined ? undefined : { node: next!, value: scaled };
    if (gain) next = soleReader(g, next!.outputs[0]);
    const b = next && scalarAfter(g, next, 'Add', (gain?.node ?? hs).outputs[0]!);
    const bias = b === undefined ? undefined : { node: next!, value: b };
    if (bias) next = soleReader(g, next!.outputs[0]);
    if (next?.opType !== 'QuantizeLinear' || !perTensorU8(next)) continue;
    out.push({ hs, dq, q: next, gain, bias });
  }
  return out;
}

/** Rewrites every HardSwish between uint8 Q/DQ into QLinearAdd + QLinearMul form (see the file comment). */
export function hardSwishToUint8(g: Graph, fresh: (base: string) => string): HardSwishUint8Stats {
  const stats: HardSwishUint8Stats = { rewritten: 0, biasExact: 0, biasRounded: 0 };
  const found = sites(g);
  if (!found.length) return stats;
  const init = (base: string, type: number, v: number): string => {
    const n = fresh(base);
    g.initializers.set(n, Tensor.scalar(n, type, v));
    return n;
  };
  const zero = init('hardswish_u8_zero', DataType.UINT8, 0);
  const three = fresh('hardswish_u8_three');
  const threeDq = new Node(
    'DequantizeLinear',
    [init('hardswish_u8_three_q', DataType.UINT8, 255), init('hardswish_u8_three_scale', DataType.FLOAT, 3 / 255), zero],
    [three],
    fresh('hardswish_u8_three_DequantizeLinear'),
  );
  const sixth = init('hardswish_u8_a_scale', DataType.FLOAT, Math.fround(6 / 255));
  const unit = init('hardswish_u8_a_over_6_scale', DataType.FLOAT, Math.fround(1 / 255));
  const replaced = new Map<Node, Node[]>();
  const dropped = new Set<Node>();
  for (const s of found) {
    const out = outputQ(g, s, init, stats);
    if (!out) continue;
    const base = s.hs.name || s.hs.outputs[0]!;
    const x2 = fresh(`${base}_x`);
    const a = fresh(`${base}_plus3`);
    const aq = fresh(`${base}_plus3_quantized`);
    const a6 = fresh(`${base}_hardsigmoid`);
    const y = fresh(`${base}_float`);
    replaced.set(s.hs, [
      new Node('DequantizeLinear', [...s.dq.inputs], [x2], fresh(`${base}_x_DequantizeLinear`)),
      new Node('Add', [x2, three], [a], fresh(`${base}_plus3`)),
      new Node('QuantizeLinear', [a, sixth, zero], [aq], fresh(`${base}_plus3_QuantizeLinear`)),
      new Node(
        'DequantizeLinear',
        [aq, s.gain ? init(`${base}_a_over_6_scaled`, DataType.FLOAT, Math.fround(s.gain.value / 255)) : unit, zero],
        [a6],
        fresh(`${base}_hardsigmoid_DequantizeLinear`),
      ),
      new Node('Mul', [s.hs.inputs[0]!, a6], [y], fresh(`${base}_mul`)),
      new Node('QuantizeLinear', [y, s.q.inputs[1]!, out.zp], [...s.q.outputs], s.q.name),
    ]);
    dropped.add(s.q);
    if (s.gain) dropped.add(s.gain.node);
    if (s.bias) dropped.add(s.bias.node);
    stats.rewritten++;
  }
  const nodes: Node[] = [];
  for (const n of g.nodes) {
    if (dropped.has(n)) continue;
    const r = replaced.get(n);
    if (r) nodes.push(...r);
    else nodes.push(n);
  }
  if (stats.rewritten) nodes.unshift(threeDq);
  g.nodes = nodes;
  return stats;
}

/** The zero point of the rewritten output Q: the Q's own, or shifted by the folded bias (nudging the scale when that makes it exact). */
function outputQ(g: Graph, s: Site, init: (base: string, type: number, v: number) => string, stats: HardSwishUint8Stats): { zp: string } | undefined {
  if (!s.bias) return { zp: s.q.inputs[2]! };
  const scaleName = s.q.inputs[1]!;
  let scale = scalar(g, scaleName)!;
  const z = scalar(g, s.q.inputs[2])!;
  const steps = Math.round(s.bias.value / scale);
  const zp = z + steps;
  if (zp < 0 || zp > 255) return undefined;
  const biases = Math.abs(steps) >= MIN_EXACT_STEPS && sharedOnlyByChain(g, scaleName, s.q) ? biasesOfReaders(g, s.q) : undefined;
  if (biases) {
    const next = Math.fround(s.bias.value / steps);
    for (const b of biases) rescaleBias(g, b, next / scale);
    scale = next;
    g.initializers.set(scaleName, Tensor.scalar(scaleName, DataType.FLOAT, scale));
    stats.biasExact++;
  } else if (s.bias.value !== steps * scale) stats.biasRounded++;
  return { zp: init(`${s.q.name || 'hardswish_u8'}_zero_point`, DataType.UINT8, zp) };
}

/** Whether a scale initializer is read only by this Q and the DQs of its output (so nudging it changes nothing else). */
function sharedOnlyByChain(g: Graph, scaleName: string, q: Node): boolean {
  const out = new Set(q.outputs);
  return g.nodes.every((n) => n === q || !n.inputs.includes(scaleName) || (n.opType === 'DequantizeLinear' && out.has(n.inputs[0]!)));
}

/**
 * The int32 bias DQs of the quantized convs / GEMMs that read q's output: their scale is input scale ×
 * weight scale, which ORT checks before it fuses, so a nudged input scale must carry over to them.
 * Undefined when a reader is anything else but a DQ into such a node's first input, or a bias is shared.
 */
function biasesOfReaders(g: Graph, q: Node): Node[] | undefined {
  const consumers = g.consumers();
  const producers = g.producers();
  const out: Node[] = [];
  for (const dq of consumers.get(q.outputs[0]!) ?? []) {
    if (dq.opType !== 'DequantizeLinear') return undefined;
    for (const c of consumers.get(dq.outputs[0]!) ?? []) {
      if (c.inputs[0] !== dq.outputs[0] || !c.inputs[2]) continue;
      const b = producers.get(c.inputs[2]);
      const t = b?.opType === 'DequantizeLinear' ? g.initializers.get(b.inputs[0]!) : undefined;
      if (!b || t?.dataType !== DataType.INT32 || (consumers.get(b.outputs[0]!) ?? []).length !== 1) return undefined;
      if (g.nodes.some((n) => n !== b && (n.inputs.includes(b.inputs[0]!) || n.inputs.includes(b.inputs[1]!)))) return undefined;
      out.push(b);
    }
  }
  return out;
}

/** Multiplies a quantized bias's scale by `factor`, requantizing its int32 values to keep what they mean. */
function rescaleBias(g: Graph, dq: Node, factor: number): void {
  const [qName, sName] = [dq.inputs[0]!, dq.inputs[1]!];
  const q = g.initializers.get(qName)!;
  const sc = g.initializers.get(sName)!;
  const scales = sc.toNumbers();
  const values = q.toNumbers();
  const newScales = Float32Array.from(scales, (v) => v * factor);
  const channel = (i: number) => (scales.length === 1 ? 0 : i % scales.length);
  const newValues = Float64Array.from(values, (v, i) => Math.round((v * scales[channel(i)]!) / newScales[channel(i)]!));
  g.initializers.set(sName, Tensor.fromFloat32(sName, sc.dims, newScales));
  g.initializers.set(qName, Tensor.fromNumbers(qName, DataType.INT32, q.dims, newValues));
}
