// Ops that make tensors or describe them: Constant, ConstantOfShape, Range, Shape, Size, Cast, NonZero.
// Shape's output is followed by value, symbolic dims included.

import { DataType, isFloatType } from '../dtype.js';
import type { Dim } from '../graph.js';
import { constantValue } from '../constants.js';
import { checkRank } from './axis.js';
import { type Ctx, type Out, MAX_VALUE_ELEMS, type RuleTable, type TensorInfo, isNum, product, tensorValues, withType } from './types.js';

function constantOf(c: Ctx): Out {
  const t = constantValue(c.node);
  return t ? { types: [{ elemType: t.dataType, shape: [...t.dims] }], values: [tensorValues(t)] } : { types: [] };
}

function constantOfShape(c: Ctx): Out {
  const v = c.node.tensor('value');
  const elemType = v?.dataType ?? DataType.FLOAT;
  const shape = c.v[0];
  const n = checkRank(c, c.t[0]?.shape?.[0], 'the shape input');
  const out: TensorInfo = { elemType, shape: shape ?? (n !== undefined ? new Array<Dim>(n).fill(undefined) : undefined) };
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

function shapeOp(c: Ctx): Out {
  const x = c.t[0];
  if (!x?.shape) return { types: [{ elemType: DataType.INT64, shape: [undefined] }] };
  const rank = x.shape.length;
  // start and end are clamped to 0..rank by the spec, not range-checked like axes
  const clampAxis = (a: number) => Math.max(0, Math.min(rank, a < 0 ? a + rank : a));
  const start = clampAxis(c.node.int('start', 0));
  const end = clampAxis(c.node.int('end', rank));
  const dims = x.shape.slice(start, Math.max(start, end));
  return { types: [{ elemType: DataType.INT64, shape: [dims.length] }], values: [dims] };
}

function castRule(c: Ctx): Out {
  const to = c.node.int('to') ?? c.t[1]?.elemType;
  if (to === undefined) return { types: [] };
  const x = c.t[0];
  const toInt = !isFloatType(to) && to !== DataType.STRING;
  const v = c.v[0]?.map((d) => (toInt && isNum(d) ? (to === DataType.BOOL ? (d ? 1 : 0) : Math.trunc(d)) : d));
  return { types: [x ? withType(x, to) : { elemType: to }], values: [v] };
}

export const constantRules: RuleTable = {
  Constant: constantOf,
  ConstantOfShape: constantOfShape,
  Range: range,
  Shape: shapeOp,
  Size: () => [{ elemType: DataType.INT64, shape: [] }],
  Cast: castRule,
  CastLike: castRule,
  NonZero: (c) => [{ elemType: DataType.INT64, shape: [c.t[0]?.shape?.length, undefined] }],
};
