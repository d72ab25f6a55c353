// ReduceSum and ReduceMean: the gradient is dy put back on the reduced axes and broadcast over them
// (divided by the count for the mean). Axes come from the input (ReduceSum ≥ 13, ReduceMean ≥ 18)
// or the attribute; no axes means all axes unless noop_with_empty_axes is set.

import { UsageError } from '../onnx/errors.js';
import { normAxis, type GradContext, type GradRule } from './grad-context.js';

function reducedAxes(c: GradContext, axesInputAllowed: boolean): number[] | 'none' {
  const r = c.rank(c.x[0]!);
  let axes = c.node.ints('axes');
  if (axesInputAllowed && c.x[1]) {
    const init = c.b.graph.initializers.get(c.x[1]);
    if (!init)
      throw new UsageError(`${c.node.opType} '${c.node.name}': the axes input must be a constant to differentiate it`, 'fold the axes into an initializer');
    axes = Array.from(init.toNumbers());
  }
  if (!axes || axes.length === 0) return c.node.int('noop_with_empty_axes', 0) ? 'none' : Array.from({ length: r }, (_, k) => k);
  return axes.map((a) => normAxis(a, r)).sort((p, q) => p - q);
}

function spread(c: GradContext, mean: boolean): (string | undefined)[] {
  const x = c.x[0]!;
  const axes = reducedAxes(c, c.node.opType === 'ReduceSum' ? c.opset >= 13 : c.opset >= 18);
  let g = c.gy[0]!;
  if (axes === 'none') return [g];
  if (!c.node.int('keepdims', 1)) g = c.unsqueeze(g, axes);
  g = c.op('Expand', [g, c.op('Shape', [x])]);
  if (mean) {
    const count = axes.reduce((p, a) => p * c.shape(x)[a]!, 1);
    g = c.op('Mul', [g, c.scalar(1 / count, x)]);
  }
  return [g];
}

export const reduceRules: Record<string, GradRule> = {
  ReduceSum: (c) => spread(c, false),
  ReduceMean: (c) => spread(c, true),
};
