// Fake quantization's gradient: the straight-through estimator (STE) with clipping, split over the
// QuantizeLinear → DequantizeLinear pair that static int8 emits, so the training graph runs the very
// ops ORT runs at deploy time. Both rows hand a float gradient across the integer value between them.
//   q = clamp(round(x/s) + zp, qmin, qmax),  y = (q − zp)·s
//   DequantizeLinear:  dq = dy·s                              (q is treated as real-valued)
//   QuantizeLinear:    dx = dq/s where q did not clip, else 0  (round's derivative taken as 1)
// Composed: dx = dy inside [ (qmin−zp)·s, (qmax−zp)·s ] (to within the float rounding of ·s/s), 0 outside.
// Scales and zero points get no gradient (learned scales would need a row for input 1).

import { DataType } from '../onnx/dtype.js';
import type { GradContext, GradRule } from './grad-context.js';

/** The scale (or zero point) of a Q/DQ node shaped to broadcast against its data input. */
function perAxis(c: GradContext, v: string, data: string): string {
  const r = c.rank(data);
  const vs = c.shape(v);
  if (vs.length === 0 || r === 0) return v;
  const axis = c.node.int('axis', 1);
  const a = axis < 0 ? axis + r : axis;
  const shape = Array.from({ length: r }, (_, k) => (k === a ? vs[0]! : 1));
  return c.op('Reshape', [v, c.int64s(shape)]);
}

const RANGES: Record<number, [number, number]> = {
  [DataType.UINT8]: [0, 255],
  [DataType.INT8]: [-128, 127],
  [DataType.UINT16]: [0, 65535],
  [DataType.INT16]: [-32768, 32767],
};

/** [qmin, qmax] of a Q node's output type (uint8 when it has no zero point). */
export function quantRange(dtype: number): [number, number] {
  return RANGES[dtype] ?? [0, 255];
}

const dequantizeLinear: GradRule = (c) => {
  const [q, s] = [c.x[0]!, c.x[1]!];
  return [c.op('Mul', [c.gy[0]!, perAxis(c, s, q)])];
};

const quantizeLinear: GradRule = (c) => {
  const [x, s, zp] = [c.x[0]!, c.x[1]!, c.x[2]];
  const [qmin, qmax] = quantRange(c.dtype(c.y[0]!));
  let v = c.op('Div', [x, perAxis(c, s, x)]);
  if (zp) v = c.op('Add', [v, c.op('Cast', [perAxis(c, zp, x)], { to: c.dtype(x) })]);
  // round(v) stays in range exactly when v ∈ [qmin − ½, qmax + ½]
  const inside = c.op('And', [c.op('GreaterOrEqual', [v, c.scalar(qmin - 0.5, x)]), c.op('LessOrEqual', [v, c.scalar(qmax + 0.5, x)])]);
  const dx = c.op('Div', [c.gy[0]!, perAxis(c, s, x)]);
  return [c.op('Where', [inside, dx, c.scalar(0, x)])];
};

/** Round: the STE (identity), for fake-quantized biases b ↦ round(b/s)·s. */
const round: GradRule = (c) => [c.gy[0]!];

export const quantRules: Record<string, GradRule> = { QuantizeLinear: quantizeLinear, DequantizeLinear: dequantizeLinear, Round: round };
