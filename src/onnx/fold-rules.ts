// The exporter habits that defeat passes, one rewrite rule per row: Identity and Constant chains,
// constant subgraphs, Cast chains, Shape → Gather → Concat shape chains, and tf2onnx's NHWC ⇄ NCHW
// Transposes. Every rule is exact (outputs bit-identical, or equal up to float32 rounding of a folded
// constant) and returns how many rewrites it made; the driver runs the table to a fixpoint.

import { DataType } from './dtype.js';
import type { Graph, Node } from './graph.js';
import { evaluateConstant } from './fold-eval.js';
import type { ShapeInference } from './shape-inference.js';
import { Tensor } from './tensor.js';

export interface FoldContext {
  /** Shape inference of the main graph (only the main graph gets the shape rules). */
  inferred?: ShapeInference;
  isMain: boolean;
}

export interface FoldRule {
  name: string;
  description: string;
  apply(g: Graph, ctx: FoldContext): number;
}

/** Element type of a value where this graph can tell. */
function elemType(g: Graph, name: string, producers: Map<string, Node>, ctx: FoldContext): number | undefined {
  const t = g.typeOf(name);
  if (t?.kind === 'tensor') return t.elemType;
  const p = producers.get(name);
  if (p?.opType === 'Cast' && p.isDefaultDomain) return p.int('to');
  return ctx.isMain ? ctx.inferred?.types.get(name)?.elemType : undefined;
}

const graphOutputs = (g: Graph) => new Set(g.outputs.map((o) => o.name));

/**
 * Makes `node` (an Identity-like node: y = x) disappear. Where y is an output of this graph and x a
 * plain intermediate value of it, the producer of x writes y instead. Returns false when it must stay.
 */
function bypass(g: Graph, node: Node, producers: Map<string, Node>): boolean {
  const [x, y] = [node.inputs[0], node.outputs[0]];
  if (!x || !y) return false;
  const outs = graphOutputs(g);
  if (!outs.has(y)) {
    g.replaceUses(y, x);
    g.nodes = g.nodes.filter((n) => n !== node);
    return true;
  }
  const p = producers.get(x);
  if (!p || outs.has(x) || g.inputs.some((i) => i.name === x)) return false;
  p.outputs = p.outputs.map((o) => (o === x ? y : o));
  g.nodes = g.nodes.filter((n) => n !== node);
  g.replaceUses(x, y);
  const vi = g.valueInfo.get(x);
  if (vi) g.valueInfo.delete(x);
  return true;
}

/** Widening casts that lose nothing: Cast(Cast(x, wide), back) ≡ Cast(x, back). */
const LOSSLESS: Record<number, number[]> = {
  [DataType.FLOAT]: [DataType.DOUBLE],
  [DataType.FLOAT16]: [DataType.FLOAT, DataType.DOUBLE],
  [DataType.BFLOAT16]: [DataType.FLOAT, DataType.DOUBLE],
  [DataType.INT8]: [DataType.INT16, DataType.INT32, DataType.INT64, DataType.FLOAT, DataType.DOUBLE],
  [DataType.UINT8]: [DataType.INT16, DataType.INT32, DataType.INT64, DataType.FLOAT, DataType.DOUBLE],
  [DataType.INT16]: [DataType.INT32, DataType.INT64, DataType.FLOAT, DataType.DOUBLE],
  [DataType.INT32]: [DataType.INT64, DataType.DOUBLE],
  [DataType.BOOL]: [DataType.UINT8, DataType.INT8, DataType.INT32, DataType.INT64, DataType.FLOAT, DataType.DOUBLE],
};

/** Composite of Transpose(p) then Transpose(q): out dim i is x dim p[q[i]]. */
const compose = (p: number[], q: number[]) => q.map((i) => p[i]!);
const isIdentityPerm = (r: number[]) => r.every((v, i) => v === i);

/** Ops that act on each element alone, so a Transpose commutes with them. */
const ELEMENTWISE_UNARY = new Set([
  'Relu',
  'Sigmoid',
  'Tanh',
  'LeakyRelu',
  'HardSwish',
  'HardSigmoid',
  'Abs',
  'Neg',
  'Exp',
  'Elu',
  'Selu',
  'Softplus',
  'Erf',
  'Gelu',
  'Clip',
]);

function singleReader(g: Graph, name: string): Node | undefined {
  const cs = g.consumers().get(name) ?? [];
  return cs.length === 1 && !graphOutputs(g).has(name) ? cs[0] : undefined;
}

export const FOLD_RULES: FoldRule[] = [
  {
    name: 'identity',
    description: 'Identity nodes removed (torch shares deduplicated initializers through them; tf2onnx reads variables through them)',
    apply(g) {
      let k = 0;
      for (const n of [...g.nodes]) if (n.opType === 'Identity' && n.isDefaultDomain && bypass(g, n, g.producers())) k++;
      return k;
    },
  },
  {
    name: 'constant-subgraphs',
    description: 'nodes whose inputs are all constants evaluated into initializers (Constant chains, Cast/Reshape/Transpose of weights, scalar math)',
    apply(g) {
      let k = 0;
      const outs = graphOutputs(g);
      for (const n of [...g.nodes]) {
        if (n.subgraphs().length || n.outputs.length !== 1 || outs.has(n.outputs[0]!)) continue;
        const ins = n.inputs.filter((i) => i !== '');
        if (ins.length === 0 || !ins.every((i) => g.initializers.has(i))) continue;
        const t = evaluateConstant(
          n,
          ins.map((i) => g.initializers.get(i)!),
        );
        if (!t) continue;
        g.initializers.set(t.name, t);
        g.valueInfo.delete(t.name);
        g.nodes = g.nodes.filter((m) => m !== n);
        k++;
      }
      return k;
    },
  },
  {
    name: 'cast-same-type',
    description: 'Cast to the type a value already has removed',
    apply(g, ctx) {
      let k = 0;
      for (const n of [...g.nodes]) {
        if (n.opType !== 'Cast' || !n.isDefaultDomain) continue;
        const producers = g.producers();
        if (elemType(g, n.inputs[0] ?? '', producers, ctx) === n.int('to') && bypass(g, n, producers)) k++;
      }
      return k;
    },
  },
  {
    name: 'cast-chains',
    description: 'Cast(Cast(x, wide), T) collapsed to Cast(x, T) where the first cast widens losslessly',
    apply(g, ctx) {
      let k = 0;
      const producers = g.producers();
      for (const n of g.nodes) {
        if (n.opType !== 'Cast' || !n.isDefaultDomain) continue;
        const inner = producers.get(n.inputs[0] ?? '');
        if (inner?.opType !== 'Cast' || !inner.isDefaultDomain) continue;
        const from = elemType(g, inner.inputs[0] ?? '', producers, ctx);
        if (from === undefined || !LOSSLESS[from]?.includes(inner.int('to') ?? -1)) continue;
        n.inputs[0] = inner.inputs[0]!;
        k++;
      }
      return k;
    },
  },
  {
    name: 'shape-chains',
    description: 'Shape → Gather → Unsqueeze → Concat chains whose values are known (static input shapes) turned into initializers',
    apply(g, ctx) {
      if (!ctx.isMain || !ctx.inferred) return 0;
      const { values, types } = ctx.inferred;
      const outs = graphOutputs(g);
      let k = 0;
      for (const n of [...g.nodes]) {
        const o = n.outputs[0];
        if (!o || n.outputs.length !== 1 || n.subgraphs().length || outs.has(o) || g.initializers.has(o)) continue;
        const v = values.get(o);
        const t = types.get(o);
        if (!v || !t?.shape || t.elemType !== DataType.INT64 || !v.every((d) => typeof d === 'number')) continue;
        const dims = t.shape;
        if (!dims.every((d) => typeof d === 'number') || (dims as number[]).reduce((a, d) => a * d, 1) !== v.length) continue;
        g.initializers.set(o, Tensor.fromInt64(o, dims as number[], v as number[]));
        g.valueInfo.delete(o);
        g.nodes = g.nodes.filter((m) => m !== n);
        k++;
      }
      return k;
    },
  },
  {
    name: 'reshape-symbolic',
    description: "Reshape whose computed shape copies symbolic dims of its input (torch's flatten) given a constant shape with 0 there",
    apply(g, ctx) {
      if (!ctx.isMain || !ctx.inferred) return 0;
      const { values, types } = ctx.inferred;
      let k = 0;
      for (const n of g.nodes) {
        if (n.opType !== 'Reshape' || !n.isDefaultDomain || n.int('allowzero', 0) === 1) continue;
        const s = n.inputs[1] ?? '';
        if (g.initializers.has(s)) continue;
        const v = values.get(s);
        const xs = types.get(n.inputs[0] ?? '')?.shape;
        if (!v || !xs) continue;
        const spec = v.map((d, i) => (typeof d === 'number' ? d : d !== undefined && xs[i] === d ? 0 : undefined));
        if (spec.some((d) => d === undefined) || spec.filter((d) => d === -1).length > 1) continue;
        const name = g.namer()(`${s}_folded`);
        g.initializers.set(name, Tensor.fromInt64(name, [spec.length], spec as number[]));
        n.inputs[1] = name;
        k++;
      }
      return k;
    },
  },
  {
    name: 'transpose-pairs',
    description: 'Transpose(Transpose(x)) composed into one Transpose, or removed where the two cancel',
    apply(g) {
      let k = 0;
      for (const n of [...g.nodes]) {
        if (n.opType !== 'Transpose' || !n.isDefaultDomain) continue;
        const inner = g.producers().get(n.inputs[0] ?? '');
        const [p, q] = [inner?.ints('perm'), n.ints('perm')];
        if (inner?.opType !== 'Transpose' || !p || !q || p.length !== q.length) continue;
        const r = compose(p, q);
        n.inputs[0] = inner.inputs[0]!;
        n.set('perm', { type: 'ints', value: r });
        if (isIdentityPerm(r)) bypass(g, n, g.producers());
        k++;
      }
      return k;
    },
  },
  {
    name: 'transpose-through-elementwise',
    description: "Transpose(p) → elementwise op → Transpose(p⁻¹) (tf2onnx's NCHW → NHWC → NCHW around an activation) reduced to the op alone",
    apply(g) {
      let k = 0;
      for (const t1 of [...g.nodes]) {
        if (t1.opType !== 'Transpose' || !t1.isDefaultDomain || !g.nodes.includes(t1)) continue;
        const op = singleReader(g, t1.outputs[0]!);
        if (!op || !ELEMENTWISE_UNARY.has(op.opType) || !op.isDefaultDomain || op.inputs[0] !== t1.outputs[0]) continue;
        if (op.inputs.slice(1).some((i) => i && !g.initializers.has(i))) continue;
        const t2 = singleReader(g, op.outputs[0]!);
        const [p, q] = [t1.ints('perm'), t2?.ints('perm')];
        if (!t2 || t2.opType !== 'Transpose' || !p || !q || p.length !== q.length || !isIdentityPerm(compose(p, q))) continue;
        op.inputs[0] = t1.inputs[0]!;
        g.valueInfo.delete(op.outputs[0]!);
        t2.opType = 'Identity';
        t2.attributes.delete('perm');
        bypass(g, t2, g.producers());
        k++;
      }
      return k;
    },
  },
];
