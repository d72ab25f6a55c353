// Ops that cut and join along axes: Concat, Split, Slice, Gather, GatherElements, Pad. Concat, Slice and
// Gather are followed by value too, for Shape → Gather → Concat → Reshape chains.

import type { Dim } from '../graph.js';
import { normAxes, normAxis } from './axis.js';
import { type Ctx, type Out, type RuleTable, type TensorInfo, ints, isNum } from './types.js';

function concat(c: Ctx): Out {
  const present = c.t.filter((_, k) => c.node.inputs[k]);
  const first = present.find((t) => t);
  if (!first) return { types: [] };
  const values = c.node.inputs.every((_, k) => c.v[k]) ? [c.v.flatMap((v) => v ?? [])] : undefined;
  if (!present.every((t) => t?.shape)) return { types: [{ elemType: first.elemType }], values };
  const rank = present[0]!.shape!.length;
  const axis = normAxis(c, c.node.int('axis', 0), rank);
  const shape: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    const ds = present.map((t) => t!.shape![k]);
    if (k === axis) shape.push(ds.every(isNum) ? (ds as number[]).reduce((a, b) => a + b, 0) : undefined);
    else shape.push(ds.reduce((a, b) => (a === b ? a : isNum(a) ? a : isNum(b) ? b : undefined)));
  }
  return { types: [{ elemType: first.elemType, shape }], values };
}

function split(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  const n = c.node.outputs.length;
  if (!x) return [];
  if (!x.shape) return new Array(n).fill({ elemType: x.elemType });
  const axis = normAxis(c, c.node.int('axis', 0), x.shape.length);
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
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  let s = start < 0 ? start + d : start;
  let e = end < 0 ? end + d : end;
  if (step > 0) {
    s = clamp(s, 0, d);
    e = clamp(e, 0, d);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clamp(s, -1, d - 1);
  e = clamp(e, -1, d - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

/** Slice's value for a 1-D input sliced with step 1. */
function sliceValue(v: Dim[], start: number, end: number): Dim[] {
  const n = v.length;
  const b = Math.max(0, Math.min(n, start < 0 ? start + n : start));
  const f = Math.max(0, Math.min(n, end < 0 ? end + n : end));
  return v.slice(b, f);
}

function slice(c: Ctx): Out {
  const x = c.t[0];
  if (!x) return { types: [] };
  const old = c.opset < 10;
  const starts = old ? c.node.ints('starts') : ints(c.v[1]);
  const ends = old ? c.node.ints('ends') : ints(c.v[2]);
  if (!x.shape || !starts || !ends) return { types: [{ elemType: x.elemType, shape: x.shape?.map(() => undefined) }] };
  const rank = x.shape.length;
  const rawAxes = (old ? c.node.ints('axes') : c.node.inputs[3] ? ints(c.v[3]) : undefined) ?? starts.map((_, k) => k);
  const axes = normAxes(c, rawAxes, rank);
  const steps = (!old && c.node.inputs[4] ? ints(c.v[4]) : undefined) ?? starts.map(() => 1);
  const shape = [...x.shape];
  axes.forEach((ax, k) => {
    shape[ax] = sliceDim(x.shape![ax], starts[k] ?? 0, ends[k] ?? 2 ** 31 - 1, steps[k] ?? 1);
  });
  const v = c.v[0];
  const values = v && rank === 1 && axes.length === 1 && (steps[0] ?? 1) === 1 ? [sliceValue(v, starts[0]!, ends[0]!)] : undefined;
  return { types: [{ elemType: x.elemType, shape }], values };
}

function gather(c: Ctx): Out {
  const x = c.t[0];
  const idx = c.t[1];
  if (!x) return { types: [] };
  if (!x.shape || !idx?.shape) return { types: [{ elemType: x.elemType }] };
  const axis = normAxis(c, c.node.int('axis', 0), x.shape.length);
  const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
  let values: (Dim[] | undefined)[] | undefined;
  const data = c.v[0];
  const ix = ints(c.v[1]);
  if (data && ix && x.shape.length === 1) values = [ix.map((i) => data[i < 0 ? i + data.length : i])];
  return { types: [{ elemType: x.elemType, shape }], values };
}

function pad(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const pads = c.node.ints('pads') ?? c.node.ints('paddings') ?? ints(c.v[1]);
  if (!x.shape || !pads) return [{ elemType: x.elemType, shape: x.shape?.map(() => undefined) }];
  const rank = x.shape.length;
  const rawAxes = c.node.inputs[3] ? ints(c.v[3]) : x.shape.map((_, k) => k);
  if (!rawAxes) return [{ elemType: x.elemType, shape: x.shape.map(() => undefined) }];
  const axes = normAxes(c, rawAxes, rank);
  const shape = [...x.shape];
  axes.forEach((a, k) => {
    const d = shape[a];
    const p = (pads[k] ?? 0) + (pads[k + axes.length] ?? 0);
    shape[a] = p === 0 ? d : isNum(d) ? d + p : undefined;
  });
  return [{ elemType: x.elemType, shape }];
}

export const sliceConcatRules: RuleTable = {
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  GatherElements: (c) => (c.t[0] ? [{ elemType: c.t[0].elemType, shape: c.t[1]?.shape && [...c.t[1].shape] }] : []),
  Pad: pad,
};
