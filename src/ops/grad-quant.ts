// Fake quantization's gradient: the straight-through estimator (STE) with clipping, split over the
// QuantizeLinear → DequantizeLinear pair that static int8 emits, so the training graph runs the very
// ops ORT runs at deploy time. Both rows hand a float gradient across the integer value between them.
//   q = clamp(round(x/s) + zp, qmin, qmax),  y = (q − zp)·s
//   DequantizeLinear:  dq = dy·s,  ds = Σ dy·(q − zp)            (q is treated as real-valued)
//   QuantizeLinear:    dx = dq/s,  ds = Σ −dq·x/s²  where q did not clip, else 0  (round's derivative 1)
// Composed: dx = dy inside [ (qmin−zp)·s, (qmax−zp)·s ] (to within the float rounding of ·s/s), 0 outside;
// and where one scale feeds both nodes, ds = Σ dy·(round(x/s) − x/s) inside, Σ dy·(qmin − zp) or
// dy·(qmax − zp) where it clipped: the learned step size of LSQ (Esser et al. 2020). The sums run over
// every element a scale covers (all of them per tensor, the other axes per channel). The scale rows are
// only built when a scale is computed from a trained value (src/train/qat.ts, learnScales); scale
// initializers themselves are never trained by default (`frozen` in ops/gradients.ts). Zero points get
// no gradient.

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

/** `g` (shaped like `data`) summed down to the scale's shape: everything for a scalar, the other axes per channel. */
function toScale(c: GradContext, g: string, s: string, data: string): string {
  const r = c.rank(data);
  if (c.shape(s).length === 0 || r === 0)
    return c.reduce(
      'ReduceSum',
      g,
      Array.from({ length: r }, (_, k) => k),
      false,
    );
  const axis = c.node.int('axis', 1);
  const a = axis < 0 ? axis + r : axis;
  return c.reduce(
    'ReduceSum',
    g,
    Array.from({ length: r }, (_, k) => k).filter((k) => k !== a),
    false,
  );
}

const dequantizeLinear: GradRule = (c) => {
  const [q, s, zp] = [c.x[0]!, c.x[1]!, c.x[2]];
  const dq = c.op('Mul', [c.gy[0]!, perAxis(c, s, q)]);
  if (!c.needs[1]) return [dq];
  const f = c.dtype(s);
  let level = c.op('Cast', [q], { to: f });
  if (zp) level = c.op('Sub', [level, c.op('Cast', [perAxis(c, zp, q)], { to: f })]);
  return [dq, toScale(c, c.op('Mul', [c.gy[0]!, level]), s, q)];
};

const quantizeLinear: GradRule = (c) => {
  const [x, s, zp] = [c.x[0]!, c.x[1]!, c.x[2]];
  const [qmin, qmax] = quantRange(c.dtype(c.y[0]!));
  const sx = perAxis(c, s, x);
  const ratio = c.op('Div', [x, sx]);
  const v = zp ? c.op('Add', [ratio, c.op('Cast', [perAxis(c, zp, x)], { to: c.dtype(x) })]) : ratio;
  // round(v) stays in range exactly when v ∈ [qmin − ½, qmax + ½]
  const inside = c.op('And', [c.op('GreaterOrEqual', [v, c.scalar(qmin - 0.5, x)]), c.op('LessOrEqual', [v, c.scalar(qmax + 0.5, x)])]);
  const dx = c.op('Where', [inside, c.op('Div', [c.gy[0]!, sx]), c.scalar(0, x)]);
  if (!c.needs[1]) return [dx];
  // ∂round(x/s)/∂s = −x/s² = −(x/s)/s, through the STE
  const ds = c.op('Neg', [c.op('Mul', [dx, ratio])]);
  return [dx, toScale(c, ds, s, x)];
};

/** Round: the STE (identity), for fake-quantized biases b ↦ round(b/s)·s. */
const round: GradRule = (c) => [c.gy[0]!];

export const quantRules: Record<string, GradRule> = { QuantizeLinear: quantizeLinear, DequantizeLinear: dequantizeLinear, Round: round };
