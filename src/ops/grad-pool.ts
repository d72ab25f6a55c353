// Pooling.
//   MaxPool: dy goes to the element each window picked; the builder asks MaxPool for its Indices output
//            (flat positions in x) and the rule scatter-adds dy there (overlapping windows add up).
//   AveragePool: dy/count spread over each window = ConvTranspose of (dy/count) with a kernel of ones,
//            per channel; count is K, or the number of non-pad elements (LpPool p=1 of ones).
//   GlobalAveragePool: dy/(spatial size) broadcast over the spatial dims.

import { Tensor } from '../onnx/tensor.js';
import type { Node } from '../onnx/graph.js';
import { convGeometry, transposeBack } from './grad-conv.js';
import type { GradRule } from './grad-context.js';

/** Makes a MaxPool node produce its Indices output, which its gradient reads. */
export function prepareMaxPool(node: Node, fresh: (base: string) => string): void {
  if (!node.outputs[1]) node.outputs[1] = fresh(`${node.outputs[0]}_indices`);
}

const maxPool: GradRule = (c) => {
  const x = c.x[0]!;
  const idx = c.y[1];
  if (!idx) throw new Error(`MaxPool '${c.node.name}' has no Indices output; the backward builder adds it`);
  const flat = c.op('Reshape', [c.zerosLike(x), c.int64s([-1])]);
  const out = c.op('ScatterElements', [flat, c.op('Reshape', [idx, c.int64s([-1])]), c.op('Reshape', [c.gy[0]!, c.int64s([-1])])], {
    axis: 0,
    reduction: 'add',
  });
  return [c.op('Reshape', [out, c.op('Shape', [x])])];
};

const averagePool: GradRule = (c) => {
  const x = c.x[0]!;
  const kernel = c.node.ints('kernel_shape', []);
  const geo = convGeometry(c, kernel);
  const K = kernel.reduce((p, q) => p * q, 1);
  const dt = c.dtype(x);
  let g = c.gy[0]!;
  const padded = geo.pads.some((p) => p > 0);
  if (!padded || c.node.int('count_include_pad', 0)) g = c.op('Mul', [g, c.scalar(1 / K, x)]);
  else {
    const count = c.op('LpPool', [c.onesLike(x)], { p: 1, kernel_shape: kernel, strides: geo.strides, pads: geo.pads });
    g = c.op('Div', [g, count]);
  }
  // One channel at a time: (N,C,So…) → (N·C,1,So…), back to (N,C,S…) after.
  const tail = (v: string) => c.op('Slice', [c.op('Shape', [v]), c.int64s([2]), c.int64s([1 << 30])]);
  const g1 = c.op('Reshape', [g, c.op('Concat', [c.int64s([-1, 1]), tail(g)], { axis: 0 })]);
  const ones = c.b.constant('pool_ones', Tensor.fromNumbers('k', dt, [1, 1, ...kernel], new Array<number>(K).fill(1)));
  const dx = transposeBack(c, g1, ones, kernel, { ...geo, dilations: c.node.ints('dilations') ?? geo.dilations }, 1, x);
  return [c.op('Reshape', [dx, c.op('Shape', [x])])];
};

const globalAveragePool: GradRule = (c) => {
  const x = c.x[0]!;
  const count = c.op('Cast', [c.op('Div', [c.op('Size', [x]), c.op('Size', [c.y[0]!])])], { to: c.dtype(x) });
  return [c.op('Div', [c.op('Expand', [c.gy[0]!, c.op('Shape', [x])]), count])];
};

export const poolRules: Record<string, GradRule> = { MaxPool: maxPool, AveragePool: averagePool, GlobalAveragePool: globalAveragePool };
