// Reductions over axes: Reduce* (axes an attribute, or an input from opset 13/18), ArgMax/ArgMin, TopK.

import { DataType } from '../dtype.js';
import type { Dim } from '../graph.js';
import { normAxes, normAxis } from './axis.js';
import { type Ctx, type Rule, type RuleTable, type TensorInfo, ints, same } from './types.js';

function reduce(c: Ctx, axesInputFrom: number): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const keep = c.node.int('keepdims', 1) === 1;
  const axesFromInput = c.opset >= axesInputFrom;
  const axes = axesFromInput ? (c.node.inputs[1] ? ints(c.v[1]) : []) : (c.node.ints('axes') ?? []);
  if (!x.shape || axes === undefined) return [{ elemType: x.elemType }];
  const rank = x.shape.length;
  if (axes.length === 0 && c.node.int('noop_with_empty_axes', 0) === 1) return same(c);
  const set = new Set(axes.length ? normAxes(c, axes, rank) : x.shape.map((_, k) => k));
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
  const axis = normAxis(c, c.node.int('axis', 0), x.shape.length);
  const keep = c.node.int('keepdims', 1) === 1;
  const shape = keep ? x.shape.map((d, k) => (k === axis ? 1 : d)) : x.shape.filter((_, k) => k !== axis);
  return [{ elemType: DataType.INT64, shape }];
}

function topK(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape) return x ? [{ elemType: x.elemType }, { elemType: DataType.INT64 }] : [];
  const axis = normAxis(c, c.node.int('axis', -1), x.shape.length);
  const k = c.node.int('k') ?? c.v[1]?.[0];
  const shape = x.shape.map((d, j) => (j === axis ? k : d));
  return [
    { elemType: x.elemType, shape },
    { elemType: DataType.INT64, shape: [...shape] },
  ];
}

/** ReduceSum took axes as an input from opset 13, the others from 18. */
const reduceFrom =
  (opset: number): Rule =>
  (c) =>
    reduce(c, opset);

export const reduceRules: RuleTable = {
  ReduceSum: reduceFrom(13),
  ReduceMean: reduceFrom(18),
  ReduceMax: reduceFrom(18),
  ReduceMin: reduceFrom(18),
  ReduceProd: reduceFrom(18),
  ReduceL1: reduceFrom(18),
  ReduceL2: reduceFrom(18),
  ReduceLogSum: reduceFrom(18),
  ReduceLogSumExp: reduceFrom(18),
  ReduceSumSquare: reduceFrom(18),
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: topK,
};
