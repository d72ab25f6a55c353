// What a shape rule sees and returns, and the small dim helpers every rule family shares.

import { DataType } from '../dtype.js';
import type { Dim, Node, ValueType } from '../graph.js';
import type { Tensor } from '../tensor.js';

export interface TensorInfo {
  elemType: number;
  /** undefined: rank unknown. */
  shape?: Dim[];
}

/** Values of tensors up to this many elements are followed through the graph. */
export const MAX_VALUE_ELEMS = 64;

/** What a rule sees of one node. */
export interface Ctx {
  node: Node;
  opset: number;
  /** Input types by position (undefined when unknown or the input is omitted). */
  t: (TensorInfo | undefined)[];
  /** Input values by position, where known. */
  v: (Dim[] | undefined)[];
}

/** What a rule returns: one type per output (undefined: unknown), and values where it can. */
export interface Out {
  types: (TensorInfo | undefined)[];
  values?: (Dim[] | undefined)[];
}

export type Rule = (c: Ctx) => Out | (TensorInfo | undefined)[];

/** One op family's rules: op type → rule. */
export type RuleTable = Record<string, Rule>;

export const isNum = (d: Dim): d is number => typeof d === 'number';

export function product(dims: Dim[]): number | undefined {
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

export function ints(v: Dim[] | undefined): number[] | undefined {
  if (!v?.every(isNum)) return undefined;
  return v as number[];
}

export const same = (c: Ctx): TensorInfo[] => (c.t[0] ? [{ ...c.t[0], shape: c.t[0].shape && [...c.t[0].shape] }] : []);

export const withType = (info: TensorInfo | undefined, elemType: number): TensorInfo | undefined =>
  info ? { elemType, shape: info.shape && [...info.shape] } : undefined;

/** A tensor's values as dims, when it is small enough to follow. */
export function tensorValues(t: Tensor): Dim[] | undefined {
  if (t.size > MAX_VALUE_ELEMS || t.dataType === DataType.STRING) return undefined;
  try {
    return [...t.toNumbers()];
  } catch {
    return undefined;
  }
}

export function fromValueType(t: ValueType | undefined): TensorInfo | undefined {
  return t?.kind === 'tensor' ? { elemType: t.elemType, shape: t.shape && [...t.shape] } : undefined;
}
