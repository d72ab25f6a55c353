// Gradients of ops that only move elements: reshape-like ops reshape back, Transpose un-permutes,
// Concat slices, Split concatenates, Expand sums. Slice and Gather scatter the gradient into a zero
// tensor through a tensor of flat element indices, which handles any steps, negative indices and
// repeated indices (Gather's are summed). ScatterElements gathers the gradient of its updates back.

import { DataType } from '../onnx/dtype.js';
import { normAxis, type GradContext, type GradRule } from './grad-context.js';

const reshapeBack: GradRule = (c) => [c.op('Reshape', [c.gy[0]!, c.op('Shape', [c.x[0]!])])];

const transpose: GradRule = (c) => {
  const r = c.rank(c.x[0]!);
  const perm = c.node.ints('perm') ?? Array.from({ length: r }, (_, k) => r - 1 - k);
  const inv = new Array<number>(r);
  perm.forEach((p, k) => {
    inv[p] = k;
  });
  return [c.op('Transpose', [c.gy[0]!], { perm: inv })];
};

const concat: GradRule = (c) => {
  const r = c.rank(c.y[0]!);
  const axis = normAxis(c.node.int('axis', 0), r);
  const sizes = c.x.map((x) => c.shape(x)[axis]!);
  if (c.x.length === 1) return [c.gy[0]!];
  const parts = c.opN('Split', [c.gy[0]!, c.int64s(sizes)], { axis }, c.x.length);
  return parts.map((p, k) => (c.needs[k] ? p : undefined));
};

const split: GradRule = (c) => {
  const axis = normAxis(c.node.int('axis', 0), c.rank(c.x[0]!));
  const parts = c.y.map((_, k) => c.gyOrZeros(k));
  return [parts.length === 1 ? parts[0]! : c.op('Concat', parts, { axis })];
};

const expand: GradRule = (c) => [c.unbroadcast(c.gy[0]!, c.x[0]!)];

/** A tensor shaped like `x` holding each element's flat index (int64). */
function flatIndices(c: GradContext, x: string): string {
  const shape = c.op('Shape', [x]);
  const n = c.op('ReduceProd', [shape], { keepdims: 1 });
  const range = c.op('Range', [c.scalar(0, DataType.INT64), c.op('Squeeze', [n]), c.scalar(1, DataType.INT64)]);
  return c.op('Reshape', [range, shape]);
}

/** Scatters `g` into zeros shaped like `x` at the flat positions `idx` (same shape as g). */
function scatterInto(c: GradContext, x: string, idx: string, g: string, reduction: 'none' | 'add'): string {
  const flat = c.op('Reshape', [c.zerosLike(x), c.int64s([-1])]);
  const out = c.op('ScatterElements', [flat, c.op('Reshape', [idx, c.int64s([-1])]), c.op('Reshape', [g, c.int64s([-1])])], { axis: 0, reduction });
  return c.op('Reshape', [out, c.op('Shape', [x])]);
}

// Slice(x, starts, ends, axes?, steps?): the same slice of x's index tensor says where dy goes.
const slice: GradRule = (c) => {
  const x = c.x[0]!;
  const idx = c.op('Slice', [flatIndices(c, x), ...c.x.slice(1)]);
  return [scatterInto(c, x, idx, c.gy[0]!, 'none')];
};

// Gather(data, indices, axis): repeated indices add up.
const gather: GradRule = (c) => {
  const x = c.x[0]!;
  const idx = c.op('Gather', [flatIndices(c, x), c.x[1]!], { axis: c.node.int('axis', 0) });
  return [scatterInto(c, x, idx, c.gy[0]!, 'add'), undefined];
};

// ScatterElements(data, indices, updates, axis), without reduction: each update lands at one place, so
// its gradient is dy gathered from there; data's is dy with those places cleared (they were overwritten).
// (prune-classes writes a narrowed head's scores into the full output this way, and QAT trains through it.)
const scatterElements: GradRule = (c) => {
  const reduction = c.node.string('reduction', 'none');
  if (reduction !== 'none') throw new Error(`ScatterElements with reduction '${reduction}' has no gradient rule`);
  const axis = c.node.int('axis', 0);
  const [, idx, upd] = c.x as [string, string, string];
  const gy = c.gy[0]!;
  return [
    c.needs[0] ? c.op('ScatterElements', [gy, idx, c.zerosLike(upd)], { axis }) : undefined,
    undefined,
    c.needs[2] ? c.op('GatherElements', [gy, idx], { axis }) : undefined,
  ];
};

export const shapeRules: Record<string, GradRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Expand: expand,
  Slice: slice,
  Gather: gather,
  ScatterElements: scatterElements,
};
