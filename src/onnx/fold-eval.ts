// A small evaluator for constant subgraphs: the ops exporters leave between constants (shape
// arithmetic, Cast, Reshape/Unsqueeze of weights, Transpose of kernels, scalar math). One row per op;
// an op without a row, or a case a row does not handle, is left in the graph (undefined).

import { DataType } from './dtype.js';
import type { Node } from './graph.js';
import { Tensor } from './tensor.js';

type Eval = (n: Node, ins: Tensor[]) => Tensor | undefined;

/** Most elements a folded tensor may have: folding must not blow up the model file. */
const MAX_ELEMS = 1 << 22;

const count = (dims: readonly number[]) => dims.reduce((a, d) => a * d, 1);
const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const make = (t: number, dims: number[], v: ArrayLike<number>) => (count(dims) > MAX_ELEMS ? undefined : Tensor.fromNumbers('', t, dims, v));
const NUMERIC = new Set<number>([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.INT64,
  DataType.INT32,
  DataType.INT8,
  DataType.UINT8,
  DataType.INT16,
  DataType.BOOL,
]);

/** The target shape of Reshape: 0 copies the input dim (allowzero = 0), one -1 takes the rest. */
function reshapeDims(from: readonly number[], spec: number[], allowZero: boolean): number[] | undefined {
  const out = spec.map((d, k) => (d === 0 && !allowZero ? from[k] : d));
  if (out.some((d) => d === undefined)) return undefined;
  const known = (out as number[]).filter((d) => d !== -1).reduce((a, d) => a * d, 1);
  const total = count(from);
  return (out as number[]).map((d) => (d === -1 ? (known ? total / known : 0) : d));
}

/** The same bytes under other dims. */
const reshaped = (x: Tensor, dims: number[]) => new Tensor('', x.dataType, dims, x.data);

/** Row-major strides. */
const strides = (dims: readonly number[]) => {
  const s = new Array<number>(dims.length).fill(1);
  for (let k = dims.length - 2; k >= 0; k--) s[k] = s[k + 1]! * dims[k + 1]!;
  return s;
};

/** Numpy broadcasting of two tensors under an elementwise function. */
function broadcast(a: Tensor, b: Tensor, f: (x: number, y: number) => number, outType = a.dataType): Tensor | undefined {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pad = (d: readonly number[]) => [...new Array<number>(rank - d.length).fill(1), ...d];
  const [da, db] = [pad(a.dims), pad(b.dims)];
  const dims: number[] = [];
  for (let k = 0; k < rank; k++) {
    if (da[k] !== db[k] && da[k] !== 1 && db[k] !== 1) return undefined;
    dims.push(Math.max(da[k]!, db[k]!));
  }
  const [va, vb] = [a.toNumbers(), b.toNumbers()];
  const [sa, sb, so] = [strides(da), strides(db), strides(dims)];
  const out = new Float64Array(count(dims));
  for (let i = 0; i < out.length; i++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      const c = Math.floor(i / so[k]!) % dims[k]!;
      if (da[k] !== 1) ia += c * sa[k]!;
      if (db[k] !== 1) ib += c * sb[k]!;
    }
    out[i] = f(va[ia]!, vb[ib]!);
  }
  if (outType === DataType.INT64 || outType === DataType.INT32) for (let i = 0; i < out.length; i++) out[i] = Math.trunc(out[i]!);
  return make(outType, dims, out);
}

const elementwise =
  (f: (x: number, y: number) => number): Eval =>
  (_, [a, b]) =>
    a && b && a.dataType === b.dataType && NUMERIC.has(a.dataType) ? broadcast(a, b, f) : undefined;

const unary =
  (f: (x: number) => number): Eval =>
  (_, [a]) =>
    a && (a.dataType === DataType.FLOAT || a.dataType === DataType.DOUBLE) ? make(a.dataType, [...a.dims], Array.from(a.toNumbers(), f)) : undefined;

function transpose(n: Node, [x]: Tensor[]): Tensor | undefined {
  if (!x) return undefined;
  const rank = x.dims.length;
  const perm = n.ints('perm') ?? Array.from({ length: rank }, (_, k) => rank - 1 - k);
  const dims = perm.map((p) => x.dims[p]!);
  const [si, so] = [strides(x.dims), strides(dims)];
  const v = x.toNumbers();
  const out = new Float64Array(v.length);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += (Math.floor(i / so[k]!) % dims[k]!) * si[perm[k]!]!;
    out[i] = v[src]!;
  }
  return make(x.dataType, dims, out);
}

function gather(n: Node, [x, idx]: Tensor[]): Tensor | undefined {
  if (!x || !idx) return undefined;
  const axis = norm(n.int('axis', 0), x.dims.length);
  const ids = Array.from(idx.toNumbers(), (i) => (i < 0 ? i + x.dims[axis]! : i));
  const outer = count(x.dims.slice(0, axis));
  const inner = count(x.dims.slice(axis + 1));
  const v = x.toNumbers();
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (const i of ids) for (let k = 0; k < inner; k++) out.push(v[(o * x.dims[axis]! + i) * inner + k]!);
  return make(x.dataType, [...x.dims.slice(0, axis), ...idx.dims, ...x.dims.slice(axis + 1)], out);
}

function concat(n: Node, ins: Tensor[]): Tensor | undefined {
  const first = ins[0];
  if (!first || ins.some((t) => t.dataType !== first.dataType || t.dims.length !== first.dims.length)) return undefined;
  const axis = norm(n.int('axis', 0), first.dims.length);
  const outer = count(first.dims.slice(0, axis));
  const out: number[] = [];
  const vals = ins.map((t) => t.toNumbers());
  for (let o = 0; o < outer; o++)
    ins.forEach((t, k) => {
      const chunk = count(t.dims.slice(axis));
      for (let j = 0; j < chunk; j++) out.push(vals[k]![o * chunk + j]!);
    });
  const dims = [...first.dims];
  dims[axis] = ins.reduce((a, t) => a + t.dims[axis]!, 0);
  return make(first.dataType, dims, out);
}

/** Axes from the input (opset ≥ 13) or the attribute (before). */
const axesOf = (n: Node, t: Tensor | undefined) => (t ? Array.from(t.toNumbers()) : n.ints('axes'));

export const FOLD_EVAL: Record<string, Eval> = {
  Identity: (_, [x]) => x,
  Cast: (n, [x]) => (x && NUMERIC.has(x.dataType) && NUMERIC.has(n.int('to') ?? 0) ? make(n.int('to')!, [...x.dims], x.toNumbers()) : undefined),
  Shape: (_, [x]) => x && Tensor.fromInt64('', [x.dims.length], x.dims),
  Reshape: (n, [x, s]) => {
    const dims = x && s && reshapeDims(x.dims, Array.from(s.toNumbers()), n.int('allowzero', 0) === 1);
    return x && dims && count(dims) === x.size ? reshaped(x, dims) : undefined;
  },
  Unsqueeze: (n, [x, a]) => {
    const axes = axesOf(n, a);
    if (!x || !axes) return undefined;
    const rank = x.dims.length + axes.length;
    const dims = [...x.dims];
    for (const ax of axes.map((v) => norm(v, rank)).sort((p, q) => p - q)) dims.splice(ax, 0, 1);
    return reshaped(x, dims);
  },
  Squeeze: (n, [x, a]) => {
    const axes = axesOf(n, a)?.map((v) => norm(v, x?.dims.length ?? 0));
    return (
      x &&
      reshaped(
        x,
        x.dims.filter((d, k) => (axes ? !axes.includes(k) : d !== 1)),
      )
    );
  },
  Flatten: (n, [x]) => {
    if (!x) return undefined;
    const axis = norm(n.int('axis', 1), x.dims.length);
    return reshaped(x, [count(x.dims.slice(0, axis)), count(x.dims.slice(axis))]);
  },
  Transpose: transpose,
  Gather: gather,
  Concat: (n, ins) => concat(n, ins),
  Add: elementwise((x, y) => x + y),
  Sub: elementwise((x, y) => x - y),
  Mul: elementwise((x, y) => x * y),
  Div: elementwise((x, y) => x / y),
  Pow: (_, [a, b]) => (a && b && (a.dataType === DataType.FLOAT || a.dataType === DataType.DOUBLE) ? broadcast(a, b, (x, y) => x ** y) : undefined),
  Neg: unary((x) => -x),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
};

/** The value of `n` from its constant inputs, or undefined when it cannot be folded here. */
export function evaluateConstant(n: Node, ins: Tensor[]): Tensor | undefined {
  const f = n.isDefaultDomain ? FOLD_EVAL[n.opType] : undefined;
  if (!f || n.outputs.length !== 1) return undefined;
  try {
    return f(n, ins)?.withName(n.outputs[0]!);
  } catch {
    return undefined; // malformed constant input: leave the node for ORT to judge
  }
}
