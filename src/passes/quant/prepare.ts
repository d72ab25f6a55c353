// Rewrites that make a float graph quantize well, applied before Q/DQ placement. ORT does them
// itself on float graphs at load time, but once Q/DQ sit between the ops it can no longer:
//   Conv → BatchNormalization   ⇒ Conv with scaled weights and shifted bias
//   Div(x, c) with constant c   ⇒ Mul(x, 1/c), which has an int8 kernel (QLinearMul)
//   x·clip(x + 3, 0, 6)/6       ⇒ HardSwish(x) (opset ≥ 14): one float op between one DQ and one Q,
//                                  instead of four int8 ops each rounding its output again
//   Conv → Mul(c) → Add(d)      ⇒ Conv with scaled weights and shifted bias (c, d per channel or scalar)
//   Mul(s) → Add(t) → Conv      ⇒ Conv with weights ·s, bias + t·ΣW (s, t scalars; Add only when
//                                  the Conv has no padding, where the fold is exact)
// Exporters (PaddleOCR's PP-LCNetV3 "learnable affine blocks", decomposed HardSwish) leave such
// chains of elementwise ops between the convs; in int8 every one of them re-rounds the activation,
// and those roundings add up to most of the quantization error of such models.

import { DataType } from '../../onnx/dtype.js';
import { Node } from '../../onnx/graph.js';
import type { Graph } from '../../onnx/graph.js';
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
    if (conv?.opType !== 'Conv' || !conv.isDefaultDomain) continue;
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
    g.initializers.set(
      name,
      Tensor.fromNumbers(
        name,
        DataType.FLOAT,
        c.dims,
        Array.from(v, (x) => 1 / x),
      ),
    );
    n.opType = 'Mul';
    n.inputs[1] = name;
    count++;
  }
  return count;
}

/** The value of a float constant when it is one number, else undefined. */
function scalarOf(g: Graph, name: string | undefined, producers: Map<string, Node>): number | undefined {
  const c = constant(g, name, producers);
  if (!c || c.dataType !== DataType.FLOAT || c.size !== 1) return undefined;
  return c.toNumbers()[0];
}

/** Of a binary node, the input that is not the constant `other`, and the constant's input index. */
function splitConst(n: Node, g: Graph, producers: Map<string, Node>): { x: string; c: number } | undefined {
  if (n.inputs.length !== 2) return undefined;
  for (const c of [1, 0]) if (constant(g, n.inputs[c], producers) && !constant(g, n.inputs[1 - c], producers)) return { x: n.inputs[1 - c]!, c };
  return undefined;
}

/**
 * x·clip(x + 3, 0, 6)/6 (also ·(1/6), and the /6 before the product) becomes HardSwish(x). Needs opset
 * ≥ 14; returns how many it fused.
 */
export function fuseHardSwish(g: Graph, opset: number): number {
  if (opset < 14) return 0;
  let count = 0;
  for (let again = true; again; ) {
    again = false;
    const producers = g.producers();
    const consumers = g.consumers();
    const outputs = new Set(g.outputs.map((o) => o.name));
    const only = (v: string, reader: Node) => !outputs.has(v) && (consumers.get(v) ?? []).length === 1 && consumers.get(v)![0] === reader;
    const sixth = (n: Node | undefined): string | undefined => {
      // Mul(v, 1/6) or Div(v, 6): returns v
      if (!n?.isDefaultDomain || (n.opType !== 'Mul' && n.opType !== 'Div')) return undefined;
      const sc = splitConst(n, g, producers);
      if (!sc || (n.opType === 'Div' && sc.c !== 1)) return undefined;
      const k = scalarOf(g, n.inputs[sc.c], producers);
      const want = n.opType === 'Div' ? 6 : 1 / 6;
      return k !== undefined && Math.abs(k - want) < 1e-6 * Math.abs(want) ? sc.x : undefined;
    };
    // clip(x + 3, 0, 6) reading x: returns x
    const relu6Plus3 = (v: string, reader: Node): string | undefined => {
      const clip = producers.get(v);
      if (clip?.opType !== 'Clip' || !clip.isDefaultDomain || !only(v, reader)) return undefined;
      if (scalarOf(g, clip.inputs[1], producers) !== 0 || scalarOf(g, clip.inputs[2], producers) !== 6) return undefined;
      const add = producers.get(clip.inputs[0]!);
      if (add?.opType !== 'Add' || !add.isDefaultDomain || !only(clip.inputs[0]!, clip)) return undefined;
      const sc = splitConst(add, g, producers);
      return sc && scalarOf(g, add.inputs[sc.c], producers) === 3 ? sc.x : undefined;
    };
    for (const last of g.nodes) {
      // Form A: (x · clip(x+3,0,6)) / 6      Form B: x · (clip(x+3,0,6) / 6)
      let x: string | undefined;
      const v = sixth(last);
      const mul = v !== undefined ? producers.get(v) : undefined;
      if (v !== undefined && mul?.opType === 'Mul' && mul.isDefaultDomain && mul.inputs.length === 2 && only(v, last)) {
        for (const k of [0, 1]) {
          const cand = relu6Plus3(mul.inputs[k]!, mul);
          if (cand !== undefined && cand === mul.inputs[1 - k]) x = cand;
        }
      } else if (last.opType === 'Mul' && last.isDefaultDomain && last.inputs.length === 2) {
        for (const k of [0, 1]) {
          const div = producers.get(last.inputs[k]!);
          const inner = sixth(div);
          if (!div || inner === undefined || !only(last.inputs[k]!, last)) continue;
          const cand = relu6Plus3(inner, div);
          if (cand !== undefined && cand === last.inputs[1 - k]) x = cand;
        }
      }
      if (x === undefined) continue;
      const out = last.outputs[0]!;
      const dead = new Set<Node>();
      // Walk back from `last` over the single-use chain to x and drop it.
      const stack = [last];
      while (stack.length) {
        const n = stack.pop()!;
        if (dead.has(n)) continue;
        dead.add(n);
        for (const i of n.inputs) {
          const p = producers.get(i);
          if (p && i !== x && !constant(g, i, producers) && p.opType !== 'Constant') stack.push(p);
        }
      }
      const hs = new Node('HardSwish', [x], [out], last.name || `${out}_HardSwish`);
      for (const n of dead) for (const o of n.outputs) if (o !== out) g.valueInfo.delete(o);
      g.nodes = g.nodes.flatMap((n) => (n === last ? [hs] : dead.has(n) ? [] : [n]));
      count++;
      again = true;
      break;
    }
  }
  return count;
}

/**
 * Folds constant Mul / Add next to a Conv into its weights and bias (see the header); returns how
 * many elementwise nodes it removed.
 */
export function foldAffineIntoConv(g: Graph): number {
  let count = 0;
  const fresh = g.namer();
  for (let again = true; again; ) {
    again = false;
    const producers = g.producers();
    const consumers = g.consumers();
    const outputs = new Set(g.outputs.map((o) => o.name));
    for (const conv of g.nodes) {
      if (conv.opType !== 'Conv' || !conv.isDefaultDomain) continue;
      const w = constant(g, conv.inputs[1], producers);
      if (!w || w.dataType !== DataType.FLOAT) continue;
      const b = conv.inputs[2] ? constant(g, conv.inputs[2], producers) : undefined;
      if (conv.inputs[2] && (!b || b.dataType !== DataType.FLOAT)) continue;
      const co = w.dims[0]!;
      const per = w.size / co;
      const setWB = (nw: Float32Array, nb: Float32Array) => {
        const wn = fresh(`${conv.name || 'conv'}_weight`);
        const bn = fresh(`${conv.name || 'conv'}_bias`);
        g.initializers.set(wn, Tensor.fromFloat32(wn, w.dims, nw));
        g.initializers.set(bn, Tensor.fromFloat32(bn, [co], nb));
        conv.inputs[1] = wn;
        conv.inputs[2] = bn;
      };
      const wv = w.toFloat32();
      const bv = b ? b.toFloat32() : new Float32Array(co);
      // After: Conv → Mul(c) / Add(c), c a scalar or one value per output channel ([C], [C,1,1], [1,C,1,1]).
      const y = conv.outputs[0]!;
      const next = consumers.get(y) ?? [];
      const after = next.length === 1 && !outputs.has(y) ? next[0]! : undefined;
      if (after?.isDefaultDomain && (after.opType === 'Mul' || after.opType === 'Add')) {
        const sc = splitConst(after, g, producers);
        const c = sc && sc.x === y ? constant(g, after.inputs[sc.c], producers) : undefined;
        // Broadcast against the [N, C, …] output: a scalar, or C values on axis 1 (e.g. [C, 1, 1], [1, C, 1, 1]).
        const r = w.dims.length;
        const padded = c ? [...Array<number>(Math.max(0, r - c.dims.length)).fill(1), ...c.dims] : [];
        const perChannel =
          c && c.dataType === DataType.FLOAT && c.dims.length <= r && (c.size === 1 || (padded[1] === co && padded.every((d, i) => i === 1 || d === 1)));
        if (c && perChannel) {
          const cv = c.toFloat32();
          const at = (k: number) => (cv.length === 1 ? cv[0]! : cv[k]!);
          const nw = Float32Array.from(wv);
          const nb = Float32Array.from(bv);
          for (let o = 0; o < co; o++) {
            if (after.opType === 'Mul') {
              for (let i = 0; i < per; i++) nw[o * per + i]! *= at(o);
              nb[o]! *= at(o);
            } else nb[o]! += at(o);
          }
          setWB(nw, nb);
          conv.outputs[0] = after.outputs[0]!;
          g.valueInfo.delete(y);
          g.nodes = g.nodes.filter((n) => n !== after);
          count++;
          again = true;
          break;
        }
      }
      // Before: Mul(x, s) → Conv, Add(x, t) → Conv (t only without padding), s and t scalars.
      const xin = conv.inputs[0]!;
      const before = producers.get(xin);
      if (before?.isDefaultDomain && (before.opType === 'Mul' || before.opType === 'Add') && (consumers.get(xin) ?? []).length === 1 && !outputs.has(xin)) {
        const sc = splitConst(before, g, producers);
        const k = sc ? scalarOf(g, before.inputs[sc.c], producers) : undefined;
        const pads = conv.ints('pads') ?? [];
        const autoPad = conv.string('auto_pad') ?? 'NOTSET';
        const unpadded = pads.every((p) => p === 0) && (autoPad === 'NOTSET' || autoPad === 'VALID');
        if (sc && k !== undefined && (before.opType === 'Mul' || unpadded)) {
          const nw = Float32Array.from(wv);
          const nb = Float32Array.from(bv);
          if (before.opType === 'Mul') for (let i = 0; i < nw.length; i++) nw[i]! *= k;
          else
            for (let o = 0; o < co; o++) {
              let sum = 0;
              for (let i = 0; i < per; i++) sum += wv[o * per + i]!;
              nb[o]! += k * sum;
            }
          setWB(nw, nb);
          conv.inputs[0] = sc.x;
          g.valueInfo.delete(xin);
          g.nodes = g.nodes.filter((n) => n !== before);
          count++;
          again = true;
          break;
        }
      }
    }
  }
  return count;
}
