// Ops that rearrange dims without computing: Reshape (followed by value, with symbolic -1), Flatten,
// Transpose, Squeeze, Unsqueeze, Expand, Tile, DepthToSpace/SpaceToDepth.

import type { Dim } from '../graph.js';
import { checkRank, normAxes, normAxis, normPerm, withPartial } from './axis.js';
import { type Ctx, type Out, type Rule, type RuleTable, type TensorInfo, broadcastShapes, ints, isNum, product } from './types.js';

function reshape(c: Ctx): Out {
  const x = c.t[0];
  if (!x) return { types: [] };
  const target = c.v[1];
  if (!target) {
    const n = checkRank(c, c.t[1]?.shape?.[0], 'the target shape');
    return { types: [{ elemType: x.elemType, shape: n !== undefined ? new Array<Dim>(n).fill(undefined) : undefined }] };
  }
  const allowZero = c.node.int('allowzero', 0) === 1;
  const shape: Dim[] = target.map((d, k) => (d === 0 && !allowZero ? x.shape?.[k] : d === -1 ? -1 : d));
  const minus = shape.indexOf(-1);
  if (minus >= 0) {
    const total = x.shape ? product(x.shape) : undefined;
    const known = shape.filter((_, k) => k !== minus);
    const rest = product(known);
    if (total !== undefined && rest) shape[minus] = total / rest;
    else shape[minus] = x.shape ? inferMinusOne(x.shape, known) : undefined;
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
  let shape: Dim[];
  if (axes.length) {
    const set = new Set(normAxes(c, axes, x.shape.length));
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
  const set = new Set(normAxes(c, axes, rank));
  const shape: Dim[] = [];
  let src = 0;
  for (let k = 0; k < rank; k++) shape.push(set.has(k) ? 1 : x.shape[src++]);
  return { types: [{ elemType: x.elemType, shape }], values: [c.v[0]] };
}

function transpose(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape) return x ? [{ elemType: x.elemType }] : [];
  const rank = x.shape.length;
  const perm = c.node.ints('perm');
  // a bad perm still tells the rank
  const order = perm
    ? withPartial(() => normPerm(c, perm, rank), [{ elemType: x.elemType, shape: x.shape.map(() => undefined) }])
    : x.shape.map((_, k) => rank - 1 - k);
  return [{ elemType: x.elemType, shape: order.map((p) => x.shape![p]) }];
}

function flatten(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape) return x ? [{ elemType: x.elemType, shape: [undefined, undefined] }] : [];
  const axis = normAxis(c, c.node.int('axis', 1), x.shape.length, 'axis', true);
  const one = (ds: Dim[]): Dim => (ds.length === 0 ? 1 : ds.length === 1 ? ds[0] : product(ds));
  return [{ elemType: x.elemType, shape: [one(x.shape.slice(0, axis)), one(x.shape.slice(axis))] }];
}

function expand(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const target = c.v[1];
  if (!target) return [{ elemType: x.elemType }];
  return [{ elemType: x.elemType, shape: broadcastShapes(x.shape, target) }];
}

function tile(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const reps = ints(c.v[1]);
  if (!x.shape || !reps || reps.length !== x.shape.length) return [{ elemType: x.elemType, shape: x.shape?.map(() => undefined) }];
  return [{ elemType: x.elemType, shape: x.shape.map((d, k) => (reps[k] === 1 ? d : isNum(d) ? d * reps[k]! : undefined)) }];
}

function depthSpace(toDepth: boolean): Rule {
  return (c) => {
    const x = c.t[0];
    const b = c.node.int('blocksize', 1);
    if (!x?.shape || x.shape.length !== 4) return x ? [{ elemType: x.elemType }] : [];
    const [n, ch, h, w] = x.shape;
    const f = (d: Dim, k: number, mul: boolean): Dim => (isNum(d) ? (mul ? d * k : d / k) : undefined);
    const shape = toDepth ? [n, f(ch, b * b, true), f(h, b, false), f(w, b, false)] : [n, f(ch, b * b, false), f(h, b, true), f(w, b, true)];
    return [{ elemType: x.elemType, shape }];
  };
}

export const layoutRules: RuleTable = {
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Expand: expand,
  Tile: tile,
  DepthToSpace: depthSpace(false),
  SpaceToDepth: depthSpace(true),
};
