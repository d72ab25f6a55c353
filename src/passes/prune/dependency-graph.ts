// Dependency groups for structured pruning: walks the graph once, from each prunable layer's output
// channels forward through every op that carries them, and records (a) which channels are coupled (the
// union-find in channels.ts) and (b) every constant that must lose the same slice when a channel goes:
// weights and biases, BatchNorm parameters, per-channel constants, the next layer's input channels,
// the group count of a depthwise conv, and Reshape shape entries (flatten, head split and merge).

import type { Dim, Graph, Node } from '../../onnx/graph.js';
import type { Model } from '../../onnx/model.js';
import { inferShapes, type TensorInfo } from '../../onnx/shape-inference.js';
import { ChannelSets } from './channels.js';

/** Traced axes of one tensor: axis → element id of each index along it. */
type Traced = Map<number, Int32Array>;

export type EditRole = 'weight-out' | 'weight-in' | 'bias' | 'bn-scale' | 'constant' | 'shape';

/** One constant that loses the indices of removed elements along an axis, or a count to rewrite. */
export interface Edit {
  kind: 'slice' | 'group' | 'shape';
  node: Node;
  /** Input slot of the constant (slice, shape). */
  input: number;
  /** Axis of the constant (slice) or index in a shape vector (shape). */
  axis: number;
  ids: Int32Array;
  role: EditRole;
}

export interface Source {
  node: Node;
  ids: Int32Array;
}

export interface DependencyGraph {
  sets: ChannelSets;
  sources: Source[];
  edits: Edit[];
}

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Erf', 'Clip', 'Identity', 'Dropout', 'Elu', 'Selu', 'Gelu', 'Softplus',
  'Softsign', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Cast', 'Floor', 'Ceil', 'Round', 'Sign', 'Sin', 'Cos', 'Mish', 'ThresholdedRelu', 'Celu',
]); // biome-ignore format: a list
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'PRelu']);
const POOL = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'GlobalLpPool']);

export function buildDependencyGraph(model: Model): DependencyGraph {
  const g = model.graph;
  const inferred = inferShapes(model);
  const shapes = inferred.types;
  const sets = new ChannelSets();
  const traced = new Map<string, Traced>();
  const sources: Source[] = [];
  const edits: Edit[] = [];
  const t = new Tracer(g, shapes, inferred.values, sets, traced, sources, edits);
  for (const n of g.nodes) t.visit(n);
  for (const o of g.outputs) for (const ids of traced.get(o.name)?.values() ?? []) sets.fixAll(ids, `reaches the model output '${o.name}'`);
  return { sets, sources, edits };
}

class Tracer {
  constructor(
    readonly g: Graph,
    readonly shapes: Map<string, TensorInfo>,
    readonly values: Map<string, Dim[]>,
    readonly sets: ChannelSets,
    readonly traced: Map<string, Traced>,
    readonly sources: Source[],
    readonly edits: Edit[],
  ) {}

  dims(name: string): Dim[] | undefined {
    return this.shapes.get(name)?.shape;
  }
  init(name: string | undefined) {
    return name ? this.g.initializers.get(name) : undefined;
  }
  where(n: Node): string {
    return `${n.opType} '${n.name || n.outputs[0]}'`;
  }
  /** Fixes every traced axis of the node's traced inputs. */
  stop(n: Node, why: string) {
    for (const i of n.inputs) for (const ids of this.traced.get(i)?.values() ?? []) this.sets.fixAll(ids, `${this.where(n)}: ${why}`);
  }
  edit(kind: Edit['kind'], node: Node, input: number, axis: number, ids: Int32Array, role: EditRole): void {
    this.edits.push({ kind, node, input, axis, ids, role });
  }

  visit(n: Node) {
    const ins = n.inputs.map((i) => this.traced.get(i));
    if (!n.isDefaultDomain) {
      if (ins.some(Boolean)) this.stop(n, 'an op outside the default domain');
      return;
    }
    const op = n.opType;
    if (op === 'Conv') return this.conv(n, ins[0]);
    if (op === 'MatMul' || op === 'Gemm') {
      if (this.init(n.inputs[1])) return this.linear(n, ins[0]);
      return op === 'MatMul' ? this.matmul2(n, ins[0], ins[1]) : this.stop(n, 'Gemm of two activations');
    }
    if (!ins.some(Boolean)) return;
    const x = ins[0];
    const out = n.outputs[0]!;
    if (UNARY.has(op)) {
      if (ins.slice(1).some(Boolean)) return this.stop(n, 'a traced min/max input');
      if (x) this.traced.set(out, x);
      return;
    }
    if (POOL.has(op) || op === 'BatchNormalization' || op === 'InstanceNormalization') {
      if (!x || [...x.keys()].some((a) => a !== 1)) return this.stop(n, 'pools or normalises over a traced axis');
      const ids = x.get(1)!;
      if (op === 'BatchNormalization') for (let k = 1; k <= 4; k++) this.edit('slice', n, k, 0, ids, k === 1 ? 'bn-scale' : 'constant');
      if (op === 'InstanceNormalization') for (let k = 1; k <= 2; k++) this.edit('slice', n, k, 0, ids, 'constant');
      this.traced.set(out, x);
      return;
    }
    if (BINARY.has(op)) return this.binary(n, ins);
    if (op === 'Concat') return this.concat(n, ins);
    if (op === 'Transpose') {
      const perm = n.ints('perm');
      if (!perm || !x) return this.stop(n, 'Transpose without perm');
      this.traced.set(out, new Map([...x].map(([a, ids]) => [perm.indexOf(a), ids])));
      return;
    }
    if (op === 'Flatten' || op === 'Reshape') return this.reshape(n, x);
    if (op === 'Squeeze' || op === 'Unsqueeze') return this.squeeze(n, x);
    // Shape reads only the widths, and a computed shape follows the pruned widths by itself
    if (op === 'Shape') return;
    if (op === 'Softmax' || op === 'LogSoftmax' || op === 'LayerNormalization') {
      const r = this.dims(n.inputs[0]!)?.length;
      const axis = n.int('axis', -1);
      if (r === undefined || !x) return this.stop(n, 'rank unknown');
      const a = axis < 0 ? axis + r : axis;
      const hit = [...x.keys()].some((k) => (op === 'LayerNormalization' ? k >= a : k === a));
      if (hit) return this.stop(n, 'normalises over the traced channels');
      if (ins.slice(1).some(Boolean)) return this.stop(n, 'traced scale or bias');
      this.traced.set(out, x);
      return;
    }
    this.stop(n, 'the pass does not know how this op uses the channels');
  }

  /** A Conv: a sink for its input's channels and a source of new ones; depthwise convs pass channels through. */
  conv(n: Node, x: Traced | undefined) {
    const w = this.init(n.inputs[1]);
    const group = n.int('group', 1);
    if (!w || w.dims.length < 3) return this.stop(n, 'its weight is not a constant');
    if (x && [...x.keys()].some((a) => a !== 1)) return this.stop(n, 'traced spatial axes');
    const xin = x?.get(1);
    const depthwise = group > 1 && w.dims[0] === group && w.dims[1] === 1;
    if (depthwise) {
      if (!xin) return;
      this.edit('slice', n, 1, 0, xin, 'weight-out');
      if (n.inputs[2]) this.edit('slice', n, 2, 0, xin, 'bias');
      this.edit('group', n, 0, 0, xin, 'constant');
      this.traced.set(n.outputs[0]!, new Map([[1, xin]]));
      return;
    }
    if (group > 1) {
      if (xin) this.stop(n, `grouped convolution (group=${group}): channels would have to go a whole group at a time`);
      return;
    }
    if (xin) this.edit('slice', n, 1, 1, xin, 'weight-in');
    const ids = this.sets.create(w.dims[0]!);
    this.edit('slice', n, 1, 0, ids, 'weight-out');
    if (n.inputs[2]) this.edit('slice', n, 2, 0, ids, 'bias');
    this.sources.push({ node: n, ids });
    this.traced.set(n.outputs[0]!, new Map([[1, ids]]));
  }

  /** MatMul/Gemm with a constant weight: its input features are a sink, its output features a source. */
  linear(n: Node, x: Traced | undefined) {
    const w = this.init(n.inputs[1])!;
    const gemm = n.opType === 'Gemm';
    if (w.dims.length !== 2 || (gemm && n.int('transA', 0) !== 0)) return this.stop(n, 'weight is not 2-D, or transA');
    const transB = gemm && n.int('transB', 0) !== 0;
    const rIn = this.dims(n.inputs[0]!)?.length;
    const rOut = this.dims(n.outputs[0]!)?.length;
    if (rIn === undefined || rOut === undefined) return this.stop(n, 'rank unknown');
    const out = new Map<number, Int32Array>();
    if (x) {
      for (const [a, ids] of x) {
        if (a === rIn - 1) this.edit('slice', n, 1, transB ? 1 : 0, ids, 'weight-in');
        else if (a < rIn - 1 && rIn === rOut) out.set(a, ids);
        else this.sets.fixAll(ids, `${this.where(n)}: traced axis ${a} does not pass through`);
      }
    }
    const N = transB ? w.dims[0]! : w.dims[1]!;
    const ids = this.sets.create(N);
    this.edit('slice', n, 1, transB ? 0 : 1, ids, 'weight-out');
    const c = this.init(n.inputs[2]);
    if (gemm && n.inputs[2]) {
      if (c && c.dims.length >= 1 && c.dims[c.dims.length - 1] === N) this.edit('slice', n, 2, c.dims.length - 1, ids, 'bias');
      else if (!c || c.dims[c.dims.length - 1] !== 1) this.sets.fixAll(ids, `${this.where(n)}: its C input is not a per-feature constant`);
    }
    this.sources.push({ node: n, ids });
    out.set(rOut - 1, ids);
    this.traced.set(n.outputs[0]!, out);
  }

  /** MatMul of two activations (attention): batch axes pass through, the contracted axes are coupled. */
  matmul2(n: Node, a: Traced | undefined, b: Traced | undefined) {
    const ra = this.dims(n.inputs[0]!)?.length;
    const rb = this.dims(n.inputs[1]!)?.length;
    const ro = this.dims(n.outputs[0]!)?.length;
    if (ra === undefined || rb === undefined || ro === undefined || ra < 2 || rb < 2) return this.stop(n, 'rank unknown');
    const out = new Map<number, Int32Array>();
    const put = (axis: number, ids: Int32Array) => {
      const have = out.get(axis);
      if (have && have.length === ids.length) for (let i = 0; i < ids.length; i++) this.sets.union(have[i]!, ids[i]!);
      else if (have) this.sets.fixAll(ids, `${this.where(n)}: mismatched batch axes`);
      else out.set(axis, ids);
    };
    const kA = a?.get(ra - 1);
    const kB = b?.get(rb - 2);
    if (kA && kB && kA.length === kB.length) for (let i = 0; i < kA.length; i++) this.sets.union(kA[i]!, kB[i]!);
    else if (kA || kB) this.stop(n, 'contracted axis traced on one side only');
    for (const [ax, ids] of a ?? []) {
      if (ax === ra - 1) continue;
      put(ax === ra - 2 ? ro - 2 : ax + ro - ra, ids);
    }
    for (const [ax, ids] of b ?? []) {
      if (ax === rb - 2) continue;
      put(ax === rb - 1 ? ro - 1 : ax + ro - rb, ids);
    }
    this.traced.set(n.outputs[0]!, out);
  }

  /** Elementwise with broadcasting: traced axes of the inputs are united; constants along them are sliced. */
  binary(n: Node, ins: (Traced | undefined)[]) {
    const ro = this.dims(n.outputs[0]!)?.length;
    const ranks = n.inputs.map((i) => this.dims(i)?.length);
    if (ro === undefined || ranks.some((r) => r === undefined)) return this.stop(n, 'rank unknown');
    const out = new Map<number, Int32Array>();
    ins.forEach((tr, k) => {
      for (const [a, ids] of tr ?? []) {
        const A = a + ro - ranks[k]!;
        const have = out.get(A);
        if (!have) out.set(A, ids);
        else if (have.length === ids.length) for (let i = 0; i < ids.length; i++) this.sets.union(have[i]!, ids[i]!);
        else this.sets.fixAll(ids, `${this.where(n)}: operands traced with different widths`);
      }
    });
    for (const [A, ids] of out)
      n.inputs.forEach((name, k) => {
        if (ins[k]?.has(A - ro + ranks[k]!)) return;
        const axis = A - ro + ranks[k]!;
        if (axis < 0) return;
        const d = this.dims(name)?.[axis];
        if (d === 1) return;
        if (this.init(name) && d === ids.length) this.edit('slice', n, k, axis, ids, 'constant');
        else this.sets.fixAll(ids, `${this.where(n)}: combined with '${name}', which the pass does not prune alongside`);
      });
    this.traced.set(n.outputs[0]!, out);
  }

  concat(n: Node, ins: (Traced | undefined)[]) {
    const r = this.dims(n.outputs[0]!)?.length;
    if (r === undefined) return this.stop(n, 'rank unknown');
    const axis = (n.int('axis', 0) + r) % r;
    if (ins.some((tr) => tr && [...tr.keys()].some((a) => a !== axis))) return this.stop(n, 'traced axes other than the concatenation axis');
    const parts: Int32Array[] = [];
    for (let k = 0; k < n.inputs.length; k++) {
      const ids = ins[k]?.get(axis);
      if (ids) parts.push(ids);
      else {
        const d = this.dims(n.inputs[k]!)?.[axis];
        if (typeof d !== 'number') return this.stop(n, 'an input of unknown width');
        const fresh = this.sets.create(d);
        this.sets.fixAll(fresh, `${this.where(n)}: concatenated with '${n.inputs[k]}', which is not pruned`);
        parts.push(fresh);
      }
    }
    const all = new Int32Array(parts.reduce((p, q) => p + q.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    this.traced.set(n.outputs[0]!, new Map([[axis, all]]));
  }

  squeeze(n: Node, x: Traced | undefined) {
    const ri = this.dims(n.inputs[0]!)?.length;
    const ro = this.dims(n.outputs[0]!)?.length;
    const given = n.ints('axes') ?? (this.init(n.inputs[1]) ? Array.from(this.init(n.inputs[1])!.toNumbers()) : undefined);
    if (!x || ri === undefined || ro === undefined || !given) return this.stop(n, 'axes or ranks unknown');
    const squeeze = n.opType === 'Squeeze';
    const axes = given.map((a) => (a < 0 ? a + (squeeze ? ri : ro) : a)).sort((p, q) => p - q);
    const out = new Map<number, Int32Array>();
    for (const [a, ids] of x) {
      if (squeeze && axes.includes(a)) return this.stop(n, 'squeezes a traced axis');
      let pos = a;
      if (squeeze) pos -= axes.filter((q) => q < a).length;
      else for (const q of axes) if (q <= pos) pos++;
      out.set(pos, ids);
    }
    this.traced.set(n.outputs[0]!, out);
  }

  /** Flatten, and Reshape that flattens, splits a traced axis into heads × d, or merges heads back. */
  reshape(n: Node, x: Traced | undefined) {
    const di = this.dims(n.inputs[0]!);
    const dout = this.dims(n.outputs[0]!);
    if (!x || !di || !dout || x.size !== 1) return this.stop(n, 'shapes unknown, or more than one traced axis');
    const [a, ids] = [...x][0]!;
    const same = (k: number) => di.slice(0, k).every((d, i) => d === dout[i] || (n.opType === 'Flatten' && k === 1));
    const numeric = (ds: Dim[]) => ds.every((d) => typeof d === 'number');
    const shapeEntry = (index: number, entryIds: Int32Array) => {
      if (n.opType !== 'Reshape') return true;
      const s = this.init(n.inputs[1]);
      // a computed shape is fine where it says -1 (inferred) at the traced position
      if (!s) return this.values.get(n.inputs[1]!)?.[index] === -1;
      const v = Number(s.toNumbers()[index]);
      if (v > 0) this.edit('shape', n, 1, index, entryIds, 'shape');
      return v !== 0 || entryIds.length === 1;
    };
    // flatten: (…, C, rest…) → (…, C·rest)
    if (dout.length === a + 1 && same(a) && numeric(di.slice(a + 1))) {
      const inner = di.slice(a + 1).reduce<number>((p, q) => p * (q as number), 1);
      const outer = n.opType === 'Flatten' && n.int('axis', 1) < a ? di.slice(n.int('axis', 1), a) : [];
      if (!numeric(outer)) return this.stop(n, 'unknown dims before the channels');
      const reps = outer.reduce<number>((p, q) => p * (q as number), 1);
      const flat = new Int32Array(reps * ids.length * inner);
      for (let i = 0; i < flat.length; i++) flat[i] = ids[Math.floor(i / inner) % ids.length]!;
      if (!shapeEntry(a, flat)) return this.stop(n, 'its shape is not a constant');
      this.traced.set(n.outputs[0]!, new Map([[n.opType === 'Flatten' ? 1 : a, flat]]));
      return;
    }
    // split: (…, H, …) → (…, heads, d, …)
    const h = dout[a];
    const d = dout[a + 1];
    if (dout.length === di.length + 1 && same(a) && typeof h === 'number' && typeof d === 'number' && h * d === ids.length) {
      const heads = new Int32Array(h);
      for (let j = 0; j < h; j++) {
        heads[j] = ids[j * d]!;
        for (let q = 1; q < d; q++) this.sets.union(ids[j * d]!, ids[j * d + q]!);
      }
      if (!shapeEntry(a, heads)) return this.stop(n, 'its shape is not a constant');
      this.traced.set(n.outputs[0]!, new Map([[a, heads]]));
      return;
    }
    // merge: (…, heads, d, …) → (…, heads·d, …)
    const dd = di[a + 1];
    if (dout.length === di.length - 1 && same(a) && typeof dd === 'number' && dout[a] === ids.length * dd) {
      const flat = new Int32Array(ids.length * dd);
      for (let i = 0; i < flat.length; i++) flat[i] = ids[Math.floor(i / dd)]!;
      if (!shapeEntry(a, flat)) return this.stop(n, 'its shape is not a constant');
      this.traced.set(n.outputs[0]!, new Map([[a, flat]]));
      return;
    }
    this.stop(n, 'reshapes the channels in a way the pass does not follow');
  }
}
