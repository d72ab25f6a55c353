// Rewrites that make a float graph quantize well, applied before Q/DQ placement. ORT does them
// itself on float graphs at load time, but once Q/DQ sit between the ops it can no longer:
//   Conv → BatchNormalization   ⇒ Conv with scaled weights and shifted bias
//   Div(x, c) with constant c   ⇒ Mul(x, 1/c), which has an int8 kernel (QLinearMul)

import { DataType } from '../../onnx/dtype.js';
import type { Graph, Node } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';

function constant(g: Graph, name: string | undefined, producers: Map<string, Node>): Tensor | undefined {
  if (!name) return undefined;
  const t = g.initializers.get(name);
  if (t) return t;
  const p = producers.get(name);
  return p?.opType === 'Constant' && p.isDefaultDomain ? p.tensor('value') : undefined;
}

/** Folds inference-mode BatchNormalization into the Conv before it; returns how many it folded. */
export function foldBatchNorm(g: Graph): number {
  const producers = g.producers();
  const consumers = g.consumers();
  const outputs = new Set(g.outputs.map((o) => o.name));
  const fresh = g.namer();
  const drop = new Set<Node>();
  for (const bn of g.nodes) {
    if (bn.opType !== 'BatchNormalization' || !bn.isDefaultDomain || bn.outputs.filter(Boolean).length !== 1) continue;
    const conv = producers.get(bn.inputs[0]!);
    if (!conv || conv.opType !== 'Conv' || !conv.isDefaultDomain) continue;
    if ((consumers.get(conv.outputs[0]!) ?? []).length !== 1 || outputs.has(conv.outputs[0]!)) continue;
    const w = constant(g, conv.inputs[1], producers);
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((k) => constant(g, bn.inputs[k], producers));
    if (!w || !gamma || !beta || !mean || !variance || w.dataType !== DataType.FLOAT) continue;
    const b = conv.inputs[2] ? constant(g, conv.inputs[2], producers) : undefined;
    if (conv.inputs[2] && !b) continue;
    const eps = bn.float('epsilon', 1e-5);
    const co = w.dims[0]!;
    const per = w.size / co;
    const [ga, be, mu, va] = [gamma, beta, mean, variance].map((t) => t.toNumbers());
    if ([ga, be, mu, va].some((v) => v!.length !== co)) continue;
    const wv = w.toFloat32();
    const bv = b ? b.toFloat32() : new Float32Array(co);
    const nw = new Float32Array(wv.length);
    const nb = new Float32Array(co);
    for (let c = 0; c < co; c++) {
      const s = ga![c]! / Math.sqrt(va![c]! + eps);
      for (let i = 0; i < per; i++) nw[c * per + i] = wv[c * per + i]! * s;
      nb[c] = (bv[c]! - mu![c]!) * s + be![c]!;
    }
    const wn = fresh(`${conv.name || 'conv'}_bn_weight`);
    const bn2 = fresh(`${conv.name || 'conv'}_bn_bias`);
    g.initializers.set(wn, Tensor.fromFloat32(wn, w.dims, nw));
    g.initializers.set(bn2, Tensor.fromFloat32(bn2, [co], nb));
    conv.inputs[1] = wn;
    conv.inputs[2] = bn2;
    conv.outputs[0] = bn.outputs[0]!;
    drop.add(bn);
  }
  if (drop.size) g.nodes = g.nodes.filter((n) => !drop.has(n));
  return drop.size;
}

/** Div by a float constant becomes Mul by its reciprocal; returns how many it rewrote. */
export function divToMul(g: Graph): number {
  const producers = g.producers();
  const fresh = g.namer();
  let count = 0;
  for (const n of g.nodes) {
    if (n.opType !== 'Div' || !n.isDefaultDomain) continue;
    const c = constant(g, n.inputs[1], producers);
    if (!c || c.dataType !== DataType.FLOAT) continue;
    const v = c.toNumbers();
    if (v.some((x) => x === 0 || !Number.isFinite(x))) continue;
    const name = fresh(`${n.inputs[1]}_reciprocal`);
    g.initializers.set(name, Tensor.fromNumbers(name, DataType.FLOAT, c.dims, Array.from(v, (x) => 1 / x)));
    n.opType = 'Mul';
    n.inputs[1] = name;
    count++;
  }
  return count;
}
