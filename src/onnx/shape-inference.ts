// Shape and element-type inference with symbolic dims, one rule per op type in a table. Small integer
// tensors (shapes, axes, pads, scales) are followed by value too, so that Shape → Gather → Concat →
// Reshape chains keep their symbolic dims. An op without a rule, or a rule that cannot decide, leaves
// its outputs unknown; inference never throws on a strange model.

import { DataType, isFloatType } from './dtype.js';
import type { Dim, Graph, Node, ValueType } from './graph.js';
import type { Model } from './model.js';
import type { Tensor } from './tensor.js';
import { constantValue } from './constants.js';

export interface TensorInfo {
  elemType: number;
  /** undefined: rank unknown. */
  shape?: Dim[];
}

export interface InferOptions {
  /** Shapes to use for graph inputs instead of the declared ones (e.g. batch fixed to 1). */
  inputShapes?: Record<string, Dim[]>;
  /** Store the inferred types in graph.valueInfo (intermediate values only). */
  write?: boolean;
}

export interface ShapeInference {
  /** Element type and shape of every value that could be inferred (main graph). */
  types: Map<string, TensorInfo>;
  /** Values of small tensors (≤ 64 elements, flattened) where known; symbolic entries for Shape outputs. */
  values: Map<string, Dim[]>;
  /** Op types that have no rule here (their outputs fall back to declarations). */
  unknownOps: Set<string>;
  /** Nodes whose rule gave up on malformed input, with why. */
  notes: string[];
}

const MAX_VALUE_ELEMS = 64;

/** What a rule sees of one node. */
interface Ctx {
  node: Node;
  opset: number;
  /** Input types by position (undefined when unknown or the input is omitted). */
  t: (TensorInfo | undefined)[];
  /** Input values by position, where known. */
  v: (Dim[] | undefined)[];
}

/** What a rule returns: one type per output (undefined: unknown), and values where it can. */
interface Out {
  types: (TensorInfo | undefined)[];
  values?: (Dim[] | undefined)[];
}

type Rule = (c: Ctx) => Out | (TensorInfo | undefined)[];

// ------------------------------------------------------------------ dim helpers

const isNum = (d: Dim): d is number => typeof d === 'number';

function product(dims: Dim[]): number | undefined {
  let p = 1;
  for (const d of dims) {
    if (!isNum(d)) return undefined;
    p *= d;
  }
  return p;
}

function broadcastDim(a: Dim, b: Dim): Dim {
  if (a === b) return a;
  if (a === 1) return b;
  if (b === 1) return a;
  if (isNum(a) && !isNum(b)) return a; // b must be a or 1; if a > 1 it is a
  if (isNum(b) && !isNum(a)) return b;
  return undefined;
}

export function broadcastShapes(...shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const sd = s![s!.length - rank + k];
      d = broadcastDim(d, sd === undefined && s!.length - rank + k < 0 ? 1 : sd);
    }
    out.push(d);
  }
  return out;
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

function ints(v: Dim[] | undefined): number[] | undefined {
  if (!v?.every(isNum)) return undefined;
  return v as number[];
}

const same = (c: Ctx): TensorInfo[] => (c.t[0] ? [{ ...c.t[0], shape: c.t[0].shape && [...c.t[0].shape] }] : []);
const withType = (info: TensorInfo | undefined, elemType: number): TensorInfo | undefined =>
  info ? { elemType, shape: info.shape && [...info.shape] } : undefined;

/** An attribute if the opset still has it, else the given input's value. */
function _attrOrInput(c: Ctx, name: string, inputIndex: number): number[] | undefined {
  const a = c.node.ints(name);
  if (a) return a;
  return ints(c.v[inputIndex]);
}

// ------------------------------------------------------------------ rules

function elementwise(c: Ctx, elemType?: number): Out {
  const present = c.t.filter((_, k) => c.node.inputs[k]);
  const first = present.find((t) => t !== undefined);
  const ty = elemType ?? first?.elemType;
  if (ty === undefined) return { types: [] };
  const shape = present.length && present.every((t) => t?.shape) ? broadcastShapes(...present.map((t) => t!.shape)) : undefined;
  return { types: [{ elemType: ty, shape }] };
}

function arith(op: (a: number, b: number) => number): Rule {
  return (c) => {
    const out = elementwise(c);
    const a = c.v[0];
    const b = c.v[1];
    if (a && b && (a.length === b.length || a.length === 1 || b.length === 1)) {
      const n = Math.max(a.length, b.length);
      const vals: Dim[] = [];
      for (let k = 0; k < n; k++) {
        const x = a[a.length === 1 ? 0 : k];
        const y = b[b.length === 1 ? 0 : k];
        vals.push(
          isNum(x) && isNum(y)
            ? op(x, y)
            : op === ADD && (x === 0 || y === 0)
              ? x === 0
                ? y
                : x
              : op === MUL && (x === 1 || y === 1)
                ? x === 1
                  ? y
                  : x
                : undefined,
        );
      }
      out.values = [vals];
    }
    return out;
  };
}
const ADD = (a: number, b: number) => a + b;
const MUL = (a: number, b: number) => a * b;

function matmulShape(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const A = a.length === 1 ? [1, a[0]] : a;
  const B = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2));
  if (!batch) return undefined;
  const out = [...batch, A[A.length - 2], B[B.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

/** Output spatial size of a conv/pool window along one axis. */
function windowDim(inp: Dim, k: number, stride: number, dilation: number, padBegin: number, padEnd: number, autoPad: string, ceil: boolean): Dim {
  if (!isNum(inp)) return undefined;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(inp / stride);
  const eff = (k - 1) * dilation + 1;
  const pads = autoPad === 'VALID' ? 0 : padBegin + padEnd;
  const span = inp + pads - eff;
  if (span < 0) return undefined;
  const out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // a window must start inside the input (or left padding) when ceil_mode rounds up
  return ceil && (out - 1) * stride >= inp + padBegin ? out - 1 : out;
}

function windowed(c: Ctx, channelsOut: Dim | 'same', kernelFrom: 'attr' | 'weight'): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape || x.shape.length < 3) return x ? [{ elemType: x.elemType }] : [];
  const spatial = x.shape.length - 2;
  let kernel = c.node.ints('kernel_shape');
  if (!kernel && kernelFrom === 'weight') {
    const w = c.t[1]?.shape;
    if (w && w.length === x.shape.length) kernel = w.slice(2).every(isNum) ? (w.slice(2) as number[]) : undefined;
  }
  if (!kernel || kernel.length !== spatial)
    return [{ elemType: x.elemType, shape: [x.shape[0], channelsOut === 'same' ? x.shape[1] : channelsOut, ...new Array<Dim>(spatial).fill(undefined)] }];
  const strides = c.node.ints('strides', new Array<number>(spatial).fill(1));
  const dil = c.node.ints('dilations', new Array<number>(spatial).fill(1));
  const pads = c.node.ints('pads', new Array<number>(2 * spatial).fill(0));
  const autoPad = c.node.string('auto_pad', 'NOTSET');
  const ceil = c.node.int('ceil_mode', 0) === 1;
  const dims: Dim[] = [];
  for (let k = 0; k < spatial; k++)
    dims.push(windowDim(x.shape[2 + k], kernel[k]!, strides[k] ?? 1, dil[k] ?? 1, pads[k] ?? 0, pads[k + spatial] ?? 0, autoPad, ceil));
  const out: TensorInfo = { elemType: x.elemType, shape: [x.shape[0], channelsOut === 'same' ? x.shape[1] : channelsOut, ...dims] };
  return c.node.opType === 'MaxPool' && c.node.outputs.length > 1 ? [out, { elemType: DataType.INT64, shape: out.shape && [...out.shape] }] : [out];
}

function convTranspose(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  const w = c.t[1]?.shape;
  if (!x?.shape || !w || w.length !== x.shape.length) return x ? [{ elemType: x.elemType }] : [];
  const spatial = x.shape.length - 2;
  const group = c.node.int('group', 1);
  const cout = isNum(w[1]) ? w[1] * group : undefined;
  const kernel = c.node.ints('kernel_shape') ?? (w.slice(2).every(isNum) ? (w.slice(2) as number[]) : undefined);
  const explicit = c.node.ints('output_shape');
  if (explicit) return [{ elemType: x.elemType, shape: [x.shape[0], cout, ...explicit] }];
  if (!kernel) return [{ elemType: x.elemType, shape: [x.shape[0], cout, ...new Array<Dim>(spatial).fill(undefined)] }];
  const strides = c.node.ints('strides', new Array<number>(spatial).fill(1));
  const dil = c.node.ints('dilations', new Array<number>(spatial).fill(1));
  const pads = c.node.ints('pads', new Array<number>(2 * spatial).fill(0));
  const outPad = c.node.ints('output_padding', new Array<number>(spatial).fill(0));
  const autoPad = c.node.string('auto_pad', 'NOTSET');
  const dims: Dim[] = [];
  for (let k = 0; k < spatial; k++) {
    const d = x.shape[2 + k];
    if (!isNum(d)) dims.push(undefined);
    else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') dims.push(d * strides[k]!);
    else dims.push(strides[k]! * (d - 1) + outPad[k]! + ((kernel[k]! - 1) * dil[k]! + 1) - pads[k]! - pads[k + spatial]!);
  }
  return [{ elemType: x.elemType, shape: [x.shape[0], cout, ...dims] }];
}

function reduce(c: Ctx, axesInputFrom: number): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const keep = c.node.int('keepdims', 1) === 1;
  const axesFromInput = c.opset >= axesInputFrom;
  const axes = axesFromInput ? (c.node.inputs[1] ? ints(c.v[1]) : []) : (c.node.ints('axes') ?? []);
  if (!x.shape || axes === undefined) return [{ elemType: x.elemType }];
  const rank = x.shape.length;
  if (axes.length === 0 && c.node.int('noop_with_empty_axes', 0) === 1) return same(c);
  const set = new Set((axes.length ? axes : x.shape.map((_, k) => k)).map((a) => normAxis(a, rank)));
  const shape: Dim[] = [];
  x.shape.forEach((d, k) => {
    if (!set.has(k)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ elemType: x.elemType, shape }];
}

function argReduce(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape) return [{ elemType: DataType.INT64 }];
  const axis = normAxis(c.node.int('axis', 0), x.shape.length);
  const keep = c.node.int('keepdims', 1) === 1;
  const shape = keep ? x.shape.map((d, k) => (k === axis ? 1 : d)) : x.shape.filter((_, k) => k !== axis);
  return [{ elemType: DataType.INT64, shape }];
}

function reshape(c: Ctx): Out {
  const x = c.t[0];
  if (!x) return { types: [] };
  const target = c.v[1];
  if (!target) {
    const n = c.t[1]?.shape?.[0];
    return { types: [{ elemType: x.elemType, shape: isNum(n) ? new Array<Dim>(n).fill(undefined) : undefined }] };
  }
  const allowZero = c.node.int('allowzero', 0) === 1;
  const shape: Dim[] = target.map((d, k) => (d === 0 && !allowZero ? x.shape?.[k] : d === -1 ? -1 : d));
  const minus = shape.indexOf(-1);
  if (minus >= 0) {
    const total = x.shape ? product(x.shape) : undefined;
    const rest = product(shape.filter((_, k) => k !== minus));
    if (total !== undefined && rest) shape[minus] = total / rest;
    else
      shape[minus] = x.shape
        ? inferMinusOne(
            x.shape,
            shape.filter((_, k) => k !== minus),
          )
        : undefined;
  }
  return { types: [{ elemType: x.elemType, shape }], values: [c.v[0]] };
}

/** The -1 of a Reshape when dims are symbolic: cancel the dims both sides share, then divide. */
function inferMinusOne(input: Dim[], known: Dim[]): Dim {
  const left = [...input];
  const right: Dim[] = [];
  for (const d of known) {
    const k = typeof d === 'string' ? left.indexOf(d) : -1;
    if (k >= 0) left.splice(k, 1);
    else right.push(d);
  }
  const a = product(left.filter((d) => d !== 1));
  const b = product(right);
  if (a !== undefined && b) return a / b;
  // one symbolic dim left over, everything else cancels to 1
  const sym = left.filter((d) => d !== 1);
  return sym.length === 1 && typeof sym[0] === 'string' && b === 1 ? sym[0] : undefined;
}

function squeeze(c: Ctx): Out {
  const x = c.t[0];
  if (!x) return { types: [] };
  const axes = c.node.inputs[1] ? ints(c.v[1]) : (c.node.ints('axes') ?? []);
  if (!x.shape || axes === undefined) return { types: [{ elemType: x.elemType }] };
  const rank = x.shape.length;
  let shape: Dim[];
  if (axes.length) {
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    shape = x.shape.filter((_, k) => !set.has(k));
  } else if (x.shape.every(isNum)) shape = x.shape.filter((d) => d !== 1);
  else return { types: [{ elemType: x.elemType }] };
  return { types: [{ elemType: x.elemType, shape }], values: [c.v[0]] };
}

function unsqueeze(c: Ctx): Out {
  const x = c.t[0];
  if (!x) return { types: [] };
  const axes = c.node.inputs[1] ? ints(c.v[1]) : c.node.ints('axes');
  if (!x.shape || !axes) return { types: [{ elemType: x.elemType }] };
  const rank = x.shape.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const shape: Dim[] = [];
  let src = 0;
  for (let k = 0; k < rank; k++) shape.push(set.has(k) ? 1 : x.shape[src++]);
  return { types: [{ elemType: x.elemType, shape }], values: [c.v[0]] };
}

function concat(c: Ctx): Out {
  const present = c.t.filter((_, k) => c.node.inputs[k]);
  const first = present.find((t) => t);
  if (!first) return { types: [] };
  const values = c.node.inputs.every((_, k) => c.v[k]) ? [c.v.flatMap((v) => v ?? [])] : undefined;
  if (!present.every((t) => t?.shape)) return { types: [{ elemType: first.elemType }], values };
  const rank = present[0]!.shape!.length;
  const axis = normAxis(c.node.int('axis', 0), rank);
  const shape: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    if (k === axis) {
      const ds = present.map((t) => t!.shape![k]);
      shape.push(ds.every(isNum) ? (ds as number[]).reduce((a, b) => a + b, 0) : undefined);
    } else shape.push(present.map((t) => t!.shape![k]).reduce((a, b) => (a === b ? a : isNum(a) ? a : isNum(b) ? b : undefined)));
  }
  return { types: [{ elemType: first.elemType, shape }], values };
}

function split(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  const n = c.node.outputs.length;
  if (!x) return [];
  if (!x.shape) return new Array(n).fill({ elemType: x.elemType });
  const axis = normAxis(c.node.int('axis', 0), x.shape.length);
  const d = x.shape[axis];
  let sizes = c.node.ints('split') ?? (c.node.inputs[1] ? ints(c.v[1]) : undefined);
  if (!sizes && isNum(d)) {
    const chunk = Math.ceil(d / n);
    sizes = Array.from({ length: n }, (_, k) => Math.max(0, Math.min(chunk, d - k * chunk)));
  }
  return Array.from({ length: n }, (_, k) => ({ elemType: x.elemType, shape: x.shape!.map((dd, j) => (j === axis ? sizes?.[k] : dd)) }));
}

function sliceDim(d: Dim, start: number, end: number, step: number): Dim {
  if (!isNum(d)) return start === 0 && step === 1 && end >= 2 ** 31 - 1 ? d : undefined;
  const clampS = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  let s = start < 0 ? start + d : start;
  let e = end < 0 ? end + d : end;
  if (step > 0) {
    s = clampS(s, 0, d);
    e = clampS(e, 0, d);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clampS(s, -1, d - 1);
  e = clampS(e, -1, d - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

function slice(c: Ctx): Out {
  const x = c.t[0];
  if (!x) return { types: [] };
  const old = c.opset < 10;
  const starts = old ? c.node.ints('starts') : ints(c.v[1]);
  const ends = old ? c.node.ints('ends') : ints(c.v[2]);
  if (!x.shape || !starts || !ends) return { types: [{ elemType: x.elemType, shape: x.shape?.map(() => undefined) }] };
  const rank = x.shape.length;
  const axes = (old ? c.node.ints('axes') : c.node.inputs[3] ? ints(c.v[3]) : undefined) ?? starts.map((_, k) => k);
  const steps = (!old && c.node.inputs[4] ? ints(c.v[4]) : undefined) ?? starts.map(() => 1);
  const shape = [...x.shape];
  axes.forEach((a, k) => {
    const ax = normAxis(a, rank);
    shape[ax] = sliceDim(x.shape![ax], starts[k]!, ends[k]!, steps[k] ?? 1);
  });
  let values: (Dim[] | undefined)[] | undefined;
  const v = c.v[0];
  if (v && rank === 1 && axes.length === 1) {
    const s = starts[0]!;
    const e = ends[0]!;
    const st = steps[0] ?? 1;
    if (st === 1) {
      const n = v.length;
      const b = Math.max(0, Math.min(n, s < 0 ? s + n : s));
      const f = Math.max(0, Math.min(n, e < 0 ? e + n : e));
      values = [v.slice(b, f)];
    }
  }
  return { types: [{ elemType: x.elemType, shape }], values };
}

function gather(c: Ctx): Out {
  const x = c.t[0];
  const idx = c.t[1];
  if (!x) return { types: [] };
  if (!x.shape || !idx?.shape) return { types: [{ elemType: x.elemType }] };
  const axis = normAxis(c.node.int('axis', 0), x.shape.length);
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  let values: (Dim[] | undefined)[] | undefined;
  const data = c.v[0];
  const ix = ints(c.v[1]);
  if (data && ix && x.shape.length === 1) values = [ix.map((i) => data[i < 0 ? i + data.length : i])];
  return { types: [{ elemType: x.elemType, shape }], values };
}

function shapeOp(c: Ctx): Out {
  const x = c.t[0];
  if (!x?.shape) return { types: [{ elemType: DataType.INT64, shape: [undefined] }] };
  const rank = x.shape.length;
  let start = c.node.int('start', 0);
  let end = c.node.int('end', rank);
  start = Math.max(0, Math.min(rank, normAxis(start, rank)));
  end = Math.max(0, Math.min(rank, normAxis(end, rank)));
  const dims = x.shape.slice(start, Math.max(start, end));
  return { types: [{ elemType: DataType.INT64, shape: [dims.length] }], values: [dims] };
}

function resize(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  if (!x.shape) return [{ elemType: x.elemType }];
  const rank = x.shape.length;
  // opset 10 Resize / Upsample 9: (X, scales); opset 11+: (X, roi, scales, sizes); Upsample 7: attr
  const isUpsample = c.node.opType === 'Upsample';
  const scales = isUpsample ? (c.node.floats('scales') ?? c.v[1]) : c.opset < 11 ? c.v[1] : c.v[2];
  const sizes = !isUpsample && c.opset >= 11 ? c.v[3] : undefined;
  const axes = c.node.ints('axes')?.map((a) => normAxis(a, rank)) ?? x.shape.map((_, k) => k);
  if (sizes && sizes.length === axes.length) {
    const shape = [...x.shape];
    axes.forEach((a, k) => {
      shape[a] = sizes[k];
    });
    return [{ elemType: x.elemType, shape }];
  }
  if (scales && scales.length === axes.length && scales.every(isNum)) {
    const shape = [...x.shape];
    axes.forEach((a, k) => {
      const d = x.shape![a];
      const s = scales[k] as number;
      shape[a] = s === 1 ? d : isNum(d) ? Math.floor(d * s) : undefined;
    });
    return [{ elemType: x.elemType, shape }];
  }
  return [{ elemType: x.elemType, shape: new Array<Dim>(rank).fill(undefined) }];
}

function pad(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const pads = c.node.ints('pads') ?? c.node.ints('paddings') ?? ints(c.v[1]);
  if (!x.shape || !pads) return [{ elemType: x.elemType, shape: x.shape?.map(() => undefined) }];
  const rank = x.shape.length;
  const axes = c.node.inputs[3] ? ints(c.v[3]) : x.shape.map((_, k) => k);
  if (!axes) return [{ elemType: x.elemType, shape: x.shape.map(() => undefined) }];
  const shape = [...x.shape];
  axes.forEach((a0, k) => {
    const a = normAxis(a0, rank);
    const d = shape[a];
    const p = (pads[k] ?? 0) + (pads[k + axes.length] ?? 0);
    shape[a] = p === 0 ? d : isNum(d) ? d + p : undefined;
  });
  return [{ elemType: x.elemType, shape }];
}

function expand(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const target = c.v[1];
  if (!target) return [{ elemType: x.elemType }];
  return [{ elemType: x.elemType, shape: broadcastShapes(x.shape, target) }];
}

function transpose(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape) return x ? [{ elemType: x.elemType }] : [];
  const perm = c.node.ints('perm') ?? x.shape.map((_, k) => x.shape!.length - 1 - k);
  return [{ elemType: x.elemType, shape: perm.map((p) => x.shape![p]) }];
}

function flatten(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape) return x ? [{ elemType: x.elemType, shape: [undefined, undefined] }] : [];
  const axis = normAxis(c.node.int('axis', 1), x.shape.length);
  const left = x.shape.slice(0, axis);
  const right = x.shape.slice(axis);
  const one = (ds: Dim[]): Dim => (ds.length === 0 ? 1 : ds.length === 1 ? ds[0] : product(ds));
  return [{ elemType: x.elemType, shape: [one(left), one(right)] }];
}

function gemm(c: Ctx): (TensorInfo | undefined)[] {
  const a = c.t[0]?.shape;
  const b = c.t[1]?.shape;
  const ty = c.t[0]?.elemType ?? c.t[1]?.elemType;
  if (ty === undefined) return [];
  if (!a || !b || a.length !== 2 || b.length !== 2) return [{ elemType: ty, shape: [undefined, undefined] }];
  const m = c.node.int('transA', 0) ? a[1] : a[0];
  const n = c.node.int('transB', 0) ? b[0] : b[1];
  return [{ elemType: ty, shape: [m, n] }];
}

function constantOf(c: Ctx): Out {
  const t = constantValue(c.node);
  return t ? { types: [{ elemType: t.dataType, shape: [...t.dims] }], values: [tensorValues(t)] } : { types: [] };
}

function constantOfShape(c: Ctx): Out {
  const v = c.node.tensor('value');
  const elemType = v?.dataType ?? DataType.FLOAT;
  const shape = c.v[0];
  const n = c.t[0]?.shape?.[0];
  const out: TensorInfo = { elemType, shape: shape ?? (isNum(n) ? new Array<Dim>(n).fill(undefined) : undefined) };
  const total = shape ? product(shape) : undefined;
  const fill = v ? tensorValues(v)?.[0] : 0;
  return { types: [out], values: [total !== undefined && total <= MAX_VALUE_ELEMS && fill !== undefined ? new Array<Dim>(total).fill(fill) : undefined] };
}

function range(c: Ctx): (TensorInfo | undefined)[] {
  const ty = c.t[0]?.elemType;
  if (ty === undefined) return [];
  const [s, l, d] = [c.v[0]?.[0], c.v[1]?.[0], c.v[2]?.[0]];
  const n = isNum(s) && isNum(l) && isNum(d) && d !== 0 ? Math.max(0, Math.ceil((l - s) / d)) : undefined;
  return [{ elemType: ty, shape: [n] }];
}

function tile(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const reps = ints(c.v[1]);
  if (!x.shape || !reps || reps.length !== x.shape.length) return [{ elemType: x.elemType, shape: x.shape?.map(() => undefined) }];
  return [{ elemType: x.elemType, shape: x.shape.map((d, k) => (reps[k] === 1 ? d : isNum(d) ? d * reps[k]! : undefined)) }];
}

function quantizeLinear(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  const out = c.node.int('output_dtype') || c.t[2]?.elemType || DataType.UINT8;
  return [x ? withType(x, out) : { elemType: out }];
}

function dequantizeLinear(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  const ty = c.t[1]?.elemType ?? DataType.FLOAT;
  return [x ? withType(x, ty) : { elemType: ty }];
}

function matmulNBits(c: Ctx): (TensorInfo | undefined)[] {
  const a = c.t[0];
  const n = c.node.int('N');
  if (!a) return [];
  return [{ elemType: a.elemType, shape: a.shape && n !== undefined ? [...a.shape.slice(0, -1), n] : undefined }];
}

function depthSpace(toDepth: boolean): Rule {
  return (c) => {
    const x = c.t[0];
    const b = c.node.int('blocksize', 1);
    if (!x?.shape || x.shape.length !== 4) return x ? [{ elemType: x.elemType }] : [];
    const [n, ch, h, w] = x.shape;
    const f = (d: Dim, k: number, mul: boolean): Dim => (isNum(d) ? (mul ? d * k : d / k) : undefined);
    return [
      {
        elemType: x.elemType,
        shape: toDepth ? [n, f(ch, b * b, true), f(h, b, false), f(w, b, false)] : [n, f(ch, b * b, false), f(h, b, true), f(w, b, true)],
      },
    ];
  };
}

function topK(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape) return x ? [{ elemType: x.elemType }, { elemType: DataType.INT64 }] : [];
  const axis = normAxis(c.node.int('axis', -1), x.shape.length);
  const k = c.node.int('k') ?? c.v[1]?.[0];
  const shape = x.shape.map((d, j) => (j === axis ? k : d));
  return [
    { elemType: x.elemType, shape },
    { elemType: DataType.INT64, shape: [...shape] },
  ];
}

function castRule(c: Ctx): Out {
  const to = c.node.int('to') ?? c.t[1]?.elemType;
  if (to === undefined) return { types: [] };
  const x = c.t[0];
  const toInt = !isFloatType(to) && to !== DataType.STRING;
  const v = c.v[0]?.map((d) => (toInt && isNum(d) ? (to === DataType.BOOL ? (d ? 1 : 0) : Math.trunc(d)) : d));
  return { types: [x ? withType(x, to) : { elemType: to }], values: [v] };
}

function normWithStats(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const out: (TensorInfo | undefined)[] = [{ ...x, shape: x.shape && [...x.shape] }];
  if (c.node.opType === 'LayerNormalization' && x.shape) {
    const axis = normAxis(c.node.int('axis', -1), x.shape.length);
    const stats = x.shape.map((d, k) => (k < axis ? d : 1));
    out.push({ elemType: DataType.FLOAT, shape: stats }, { elemType: DataType.FLOAT, shape: [...stats] });
  }
  return out;
}

const UNARY = [
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'Softplus',
  'Softsign',
  'Mish',
  'ThresholdedRelu',
  'Erf',
  'Exp',
  'Log',
  'Sqrt',
  'Abs',
  'Neg',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Sin',
  'Cos',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'Asinh',
  'Acosh',
  'Atanh',
  'Softmax',
  'LogSoftmax',
  'Hardmax',
  'Clip',
  'Shrink',
  'LRN',
  'InstanceNormalization',
  'MeanVarianceNormalization',
  'CumSum',
  'Trilu',
  'ReverseSequence',
  'BitwiseNot',
  'GroupNormalization',
  'Bernoulli',
];

const RULES: Record<string, Rule> = {
  Add: arith(ADD),
  Sub: arith((a, b) => a - b),
  Mul: arith(MUL),
  Div: arith((a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b)),
  Pow: (c) => ({ types: [withType(elementwise(c).types[0], c.t[0]?.elemType ?? DataType.FLOAT)] }),
  Max: (c) => elementwise(c),
  Min: (c) => elementwise(c),
  Sum: (c) => elementwise(c),
  Mean: (c) => elementwise(c),
  Mod: (c) => elementwise(c),
  PRelu: (c) => elementwise(c),
  BitShift: (c) => elementwise(c),
  BitwiseAnd: (c) => elementwise(c),
  BitwiseOr: (c) => elementwise(c),
  BitwiseXor: (c) => elementwise(c),
  Equal: (c) => elementwise(c, DataType.BOOL),
  Less: (c) => elementwise(c, DataType.BOOL),
  Greater: (c) => elementwise(c, DataType.BOOL),
  LessOrEqual: (c) => elementwise(c, DataType.BOOL),
  GreaterOrEqual: (c) => elementwise(c, DataType.BOOL),
  And: (c) => elementwise(c, DataType.BOOL),
  Or: (c) => elementwise(c, DataType.BOOL),
  Xor: (c) => elementwise(c, DataType.BOOL),
  Not: (c) => [withType(c.t[0], DataType.BOOL)],
  IsNaN: (c) => [withType(c.t[0], DataType.BOOL)],
  IsInf: (c) => [withType(c.t[0], DataType.BOOL)],
  Where: (c) => {
    const ty = c.t[1]?.elemType ?? c.t[2]?.elemType;
    if (ty === undefined) return [];
    return [{ elemType: ty, shape: broadcastShapes(c.t[0]?.shape, c.t[1]?.shape, c.t[2]?.shape) }];
  },
  MatMul: (c) => {
    const ty = c.t[0]?.elemType ?? c.t[1]?.elemType;
    return ty === undefined ? [] : [{ elemType: ty, shape: matmulShape(c.t[0]?.shape, c.t[1]?.shape) }];
  },
  MatMulInteger: (c) => [{ elemType: DataType.INT32, shape: matmulShape(c.t[0]?.shape, c.t[1]?.shape) }],
  QLinearMatMul: (c) => [{ elemType: c.t[7]?.elemType ?? c.t[0]?.elemType ?? DataType.UINT8, shape: matmulShape(c.t[0]?.shape, c.t[3]?.shape) }],
  Gemm: gemm,
  Conv: (c) => windowed(c, c.t[1]?.shape?.[0], 'weight'),
  ConvInteger: (c) => windowed(c, c.t[1]?.shape?.[0], 'weight').map((t) => withType(t, DataType.INT32)),
  QLinearConv: (c) => {
    // (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B)
    const shifted: Ctx = { ...c, t: [c.t[0], c.t[3]] };
    return windowed(shifted, c.t[3]?.shape?.[0], 'weight').map((t) => withType(t, c.t[7]?.elemType ?? c.t[0]?.elemType ?? DataType.UINT8));
  },
  ConvTranspose: convTranspose,
  MaxPool: (c) => windowed(c, 'same', 'attr'),
  AveragePool: (c) => windowed(c, 'same', 'attr'),
  LpPool: (c) => windowed(c, 'same', 'attr'),
  GlobalAveragePool: (c) => (c.t[0] ? [{ elemType: c.t[0].elemType, shape: c.t[0].shape?.map((d, k) => (k < 2 ? d : 1)) }] : []),
  GlobalMaxPool: (c) => (c.t[0] ? [{ elemType: c.t[0].elemType, shape: c.t[0].shape?.map((d, k) => (k < 2 ? d : 1)) }] : []),
  GlobalLpPool: (c) => (c.t[0] ? [{ elemType: c.t[0].elemType, shape: c.t[0].shape?.map((d, k) => (k < 2 ? d : 1)) }] : []),
  BatchNormalization: (c) => same(c),
  LayerNormalization: normWithStats,
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  GatherElements: (c) => (c.t[0] ? [{ elemType: c.t[0].elemType, shape: c.t[1]?.shape && [...c.t[1].shape] }] : []),
  Shape: shapeOp,
  Size: () => [{ elemType: DataType.INT64, shape: [] }],
  Cast: castRule,
  CastLike: castRule,
  ReduceSum: (c) => reduce(c, 13),
  ReduceMean: (c) => reduce(c, 18),
  ReduceMax: (c) => reduce(c, 18),
  ReduceMin: (c) => reduce(c, 18),
  ReduceProd: (c) => reduce(c, 18),
  ReduceL1: (c) => reduce(c, 18),
  ReduceL2: (c) => reduce(c, 18),
  ReduceLogSum: (c) => reduce(c, 18),
  ReduceLogSumExp: (c) => reduce(c, 18),
  ReduceSumSquare: (c) => reduce(c, 18),
  ArgMax: argReduce,
  ArgMin: argReduce,
  Resize: resize,
  Upsample: resize,
  Pad: pad,
  Expand: expand,
  Tile: tile,
  Range: range,
  Constant: constantOf,
  ConstantOfShape: constantOfShape,
  Identity: (c) => ({ types: same(c), values: [c.v[0]] }),
  Dropout: (c) => [...same(c), withType(c.t[0], DataType.BOOL)],
  NonZero: (c) => [{ elemType: DataType.INT64, shape: [c.t[0]?.shape?.length, undefined] }],
  TopK: topK,
  DepthToSpace: depthSpace(false),
  SpaceToDepth: depthSpace(true),
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  // control flow: outputs come from the subgraph declarations (see inferGraph)
  If: () => [],
  Loop: () => [],
  DynamicQuantizeLinear: (c) => [withType(c.t[0], DataType.UINT8), { elemType: DataType.FLOAT, shape: [] }, { elemType: DataType.UINT8, shape: [] }],
};
for (const op of UNARY) RULES[op] ??= (c) => same(c);

/** com.microsoft contrib ops that ORT's optimizers and the quantizers emit. */
const MS_RULES: Record<string, Rule> = {
  MatMulNBits: matmulNBits,
  DynamicQuantizeMatMul: (c) => [{ elemType: c.t[0]?.elemType ?? DataType.FLOAT, shape: matmulShape(c.t[0]?.shape, c.t[1]?.shape) }],
  MatMulIntegerToFloat: (c) => [{ elemType: c.t[2]?.elemType ?? DataType.FLOAT, shape: matmulShape(c.t[0]?.shape, c.t[1]?.shape) }],
  FusedMatMul: (c) => {
    const t = (s: Dim[] | undefined, on: number) => (s && on && s.length >= 2 ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
    const ty = c.t[0]?.elemType;
    return ty === undefined ? [] : [{ elemType: ty, shape: matmulShape(t(c.t[0]?.shape, c.node.int('transA', 0)), t(c.t[1]?.shape, c.node.int('transB', 0))) }];
  },
  QGemm: (c) => gemm({ ...c, t: [c.t[0], c.t[3]] }).map((t) => withType(t, c.t[7]?.elemType ?? DataType.FLOAT)),
  QLinearAdd: (c) => [{ elemType: c.t[0]?.elemType ?? DataType.UINT8, shape: broadcastShapes(c.t[0]?.shape, c.t[3]?.shape) }],
  QLinearMul: (c) => [{ elemType: c.t[0]?.elemType ?? DataType.UINT8, shape: broadcastShapes(c.t[0]?.shape, c.t[3]?.shape) }],
  QLinearSigmoid: (c) => same(c),
  QLinearLeakyRelu: (c) => same(c),
  QLinearGlobalAveragePool: (c) => (c.t[0] ? [{ elemType: c.t[0].elemType, shape: c.t[0].shape?.map((d, k) => (k < 2 ? d : 1)) }] : []),
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  Gelu: (c) => same(c),
  FastGelu: (c) => same(c),
  BiasGelu: (c) => same(c),
  QuickGelu: (c) => same(c),
  SkipLayerNormalization: (c) => same(c),
  SkipSimplifiedLayerNormalization: (c) => same(c),
  SimplifiedLayerNormalization: (c) => same(c),
  FusedConv: (c) => windowed(c, c.t[1]?.shape?.[0], 'weight'),
  NhwcConv: () => [],
};

// ------------------------------------------------------------------ the walk

function tensorValues(t: Tensor): Dim[] | undefined {
  if (t.size > MAX_VALUE_ELEMS || t.dataType === DataType.STRING) return undefined;
  try {
    return [...t.toNumbers()];
  } catch {
    return undefined;
  }
}

function fromValueType(t: ValueType | undefined): TensorInfo | undefined {
  return t?.kind === 'tensor' ? { elemType: t.elemType, shape: t.shape && [...t.shape] } : undefined;
}

/** Inferred dims where known, else the declared ones (when the ranks agree). */
function merge(inferred: TensorInfo | undefined, declared: TensorInfo | undefined): TensorInfo | undefined {
  if (!inferred) return declared;
  if (!declared) return inferred;
  const elemType = inferred.elemType || declared.elemType;
  if (!inferred.shape) return { elemType, shape: declared.shape };
  if (!declared.shape || declared.shape.length !== inferred.shape.length) return { elemType, shape: inferred.shape };
  return { elemType, shape: inferred.shape.map((d, k) => (d === undefined ? declared.shape![k] : d)) };
}

export function inferShapes(model: Model, opts: InferOptions = {}): ShapeInference {
  const res: ShapeInference = { types: new Map(), values: new Map(), unknownOps: new Set(), notes: [] };
  inferGraph(model, model.graph, res, opts, true);
  return res;
}

function inferGraph(model: Model, g: Graph, res: ShapeInference, opts: InferOptions, isMain: boolean): void {
  const { types, values } = res;
  for (const [name, t] of g.initializers) {
    types.set(name, { elemType: t.dataType, shape: [...t.dims] });
    const v = tensorValues(t);
    if (v) values.set(name, v);
  }
  for (const i of g.inputs) {
    if (g.initializers.has(i.name)) continue;
    const override = isMain ? opts.inputShapes?.[i.name] : undefined;
    const declared = fromValueType(i.type);
    if (declared || override) types.set(i.name, { elemType: declared?.elemType ?? DataType.FLOAT, shape: override ? [...override] : declared?.shape });
  }
  const declaredOf = (name: string) => fromValueType(g.valueInfo.get(name)?.type ?? g.outputs.find((o) => o.name === name)?.type);
  for (const n of g.nodes) {
    const ms = n.domain === 'com.microsoft';
    const rule = n.isDefaultDomain ? RULES[n.opType] : ms ? MS_RULES[n.opType] : undefined;
    let out: Out = { types: [] };
    if (!rule) res.unknownOps.add(n.domain && !n.isDefaultDomain ? `${n.domain}.${n.opType}` : n.opType);
    else {
      const ctx: Ctx = {
        node: n,
        opset: model.opset(n.isDefaultDomain ? '' : n.domain) ?? model.opset('') ?? 1,
        t: n.inputs.map((i) => (i ? types.get(i) : undefined)),
        v: n.inputs.map((i) => (i ? values.get(i) : undefined)),
      };
      try {
        const r = rule(ctx);
        out = Array.isArray(r) ? { types: r } : r;
      } catch (e) {
        res.notes.push(`${n.opType} '${n.name || n.outputs[0]}': ${(e as Error).message}`);
      }
    }
    if (n.opType === 'If' && n.isDefaultDomain) {
      const branch = n.attr('then_branch');
      if (branch?.type === 'graph') out = { types: branch.value.outputs.map((o) => fromValueType(o.type)) };
    } else if (n.opType === 'Loop' && n.isDefaultDomain) {
      // body: (iter, cond, carried…) → (cond, carried…, scan outputs…); scan outputs gain a leading dim
      const body = n.attr('body');
      if (body?.type === 'graph') {
        const carried = Math.max(0, n.inputs.length - 2);
        out = {
          types: body.value.outputs.slice(1).map((o, k) => {
            const t = fromValueType(o.type);
            return k < carried ? t : t && { elemType: t.elemType, shape: t.shape && [undefined, ...t.shape] };
          }),
        };
      }
    }
    n.outputs.forEach((o, k) => {
      if (!o) return;
      const t = merge(sanitize(out.types[k]), declaredOf(o));
      if (t) types.set(o, t);
      const v = out.values?.[k];
      if (v && v.length <= MAX_VALUE_ELEMS && t?.shape && t.shape.length <= 1) values.set(o, v);
    });
  }
  if (opts.write && isMain) {
    const outputs = new Set(g.outputs.map((o) => o.name));
    for (const n of g.nodes)
      for (const o of n.outputs) {
        const t = types.get(o);
        if (!o || !t || outputs.has(o)) continue;
        g.valueInfo.set(o, { name: o, type: { kind: 'tensor', elemType: t.elemType, shape: t.shape && [...t.shape] } });
      }
  }
}

/** Guards against rules producing NaN or negative dims on inconsistent models. */
function sanitize(t: TensorInfo | undefined): TensorInfo | undefined {
  if (!t) return undefined;
  if (!t.shape) return t;
  return { elemType: t.elemType, shape: t.shape.map((d) => (typeof d === 'number' && (!Number.isInteger(d) || d < 0) ? undefined : d)) };
}

/** Op types (default domain, then 'com.microsoft.X') that have a rule: for docs and tests. */
export function shapeRuleOps(): string[] {
  return [...Object.keys(RULES), ...Object.keys(MS_RULES).map((k) => `com.microsoft.${k}`)];
}
