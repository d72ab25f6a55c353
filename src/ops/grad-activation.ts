// Gradients of activations. Where a rule needs a 0/1 mask it uses Where on a comparison, so that the
// incoming gradient passes unchanged where the slope is 1.

import type { GradContext, GradRule } from './grad-context.js';

const zero = (c: GradContext) => c.scalar(0, c.x[0]!);

// y = max(x, 0):  dx = dy where x > 0
const relu: GradRule = (c) => [c.op('Where', [c.op('Greater', [c.x[0]!, zero(c)]), c.gy[0]!, zero(c)])];

// y = x (x ≥ 0), αx (x < 0)
const leakyRelu: GradRule = (c) => {
  const alpha = c.node.float('alpha', 0.01);
  const g = c.gy[0]!;
  return [c.op('Where', [c.op('Greater', [c.x[0]!, zero(c)]), g, c.op('Mul', [g, c.scalar(alpha, c.x[0]!)])])];
};

// dx = dy · y · (1 − y)
const sigmoid: GradRule = (c) => {
  const y = c.y[0]!;
  return [c.op('Mul', [c.gy[0]!, c.op('Mul', [y, c.op('Sub', [c.scalar(1, y), y])])])];
};

// dx = dy · (1 − y²)
const tanh: GradRule = (c) => {
  const y = c.y[0]!;
  return [c.op('Mul', [c.gy[0]!, c.op('Sub', [c.scalar(1, y), c.op('Mul', [y, y])])])];
};

// d erf(x)/dx = 2/√π · exp(−x²)
const erf: GradRule = (c) => {
  const x = c.x[0]!;
  const e = c.op('Exp', [c.op('Neg', [c.op('Mul', [x, x])])]);
  return [c.op('Mul', [c.gy[0]!, c.op('Mul', [e, c.scalar(2 / Math.sqrt(Math.PI), x)])])];
};

// Gelu (opset 20): y = x·Φ(x) → dx = dy·(Φ(x) + x·φ(x)); tanh approximation differentiated as written.
const gelu: GradRule = (c) => {
  const x = c.x[0]!;
  const g = c.gy[0]!;
  if (c.node.string('approximate', 'none') === 'tanh') {
    // y = 0.5x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³)
    const k = Math.sqrt(2 / Math.PI);
    const x2 = c.op('Mul', [x, x]);
    const u = c.op('Mul', [c.scalar(k, x), c.op('Add', [x, c.op('Mul', [c.scalar(0.044715, x), c.op('Mul', [x2, x])])])]);
    const t = c.op('Tanh', [u]);
    const du = c.op('Mul', [c.scalar(k, x), c.op('Add', [c.scalar(1, x), c.op('Mul', [c.scalar(3 * 0.044715, x), x2])])]);
    const sech2 = c.op('Sub', [c.scalar(1, x), c.op('Mul', [t, t])]);
    const d = c.op('Add', [
      c.op('Mul', [c.scalar(0.5, x), c.op('Add', [c.scalar(1, x), t])]),
      c.op('Mul', [c.op('Mul', [c.scalar(0.5, x), x]), c.op('Mul', [sech2, du])]),
    ]);
    return [c.op('Mul', [g, d])];
  }
  const cdf = c.op('Mul', [c.scalar(0.5, x), c.op('Add', [c.scalar(1, x), c.op('Erf', [c.op('Mul', [x, c.scalar(Math.SQRT1_2, x)])])])]);
  const pdf = c.op('Mul', [c.scalar(1 / Math.sqrt(2 * Math.PI), x), c.op('Exp', [c.op('Mul', [c.scalar(-0.5, x), c.op('Mul', [x, x])])])]);
  return [c.op('Mul', [g, c.op('Add', [cdf, c.op('Mul', [x, pdf])])])];
};

/** dy where lo < x < hi, else 0. */
function passBetween(c: GradContext, x: string, g: string, lo: string, hi: string): string {
  const inside = c.op('And', [c.op('Greater', [x, lo]), c.op('Less', [x, hi])]);
  return c.op('Where', [inside, g, c.scalar(0, x)]);
}

// y = max(0, min(1, αx + β)):  dx = α·dy inside the linear part
const hardSigmoid: GradRule = (c) => {
  const x = c.x[0]!;
  const alpha = c.node.float('alpha', 0.2);
  const beta = c.node.float('beta', 0.5);
  const lo = c.scalar(-beta / alpha, x);
  const hi = c.scalar((1 - beta) / alpha, x);
  return [passBetween(c, x, c.op('Mul', [c.gy[0]!, c.scalar(alpha, x)]), lo, hi)];
};

// y = x·max(0, min(1, x/6 + ½)):  dx = 0 (x < −3), dy (x > 3), dy·(x/3 + ½) between
const hardSwish: GradRule = (c) => {
  const x = c.x[0]!;
  const g = c.gy[0]!;
  const mid = c.op('Mul', [g, c.op('Add', [c.op('Mul', [x, c.scalar(1 / 3, x)]), c.scalar(0.5, x)])]);
  const upper = c.op('Where', [c.op('Greater', [x, c.scalar(3, x)]), g, mid]);
  return [c.op('Where', [c.op('Less', [x, c.scalar(-3, x)]), c.scalar(0, x), upper])];
};

// Clip(x, min?, max?): dy where min ≤ x ≤ max; the bounds get no gradient.
const clip: GradRule = (c) => {
  const x = c.x[0]!;
  let g = c.gy[0]!;
  const lo = c.x[1];
  const hi = c.x[2];
  const minA = c.node.float('min');
  const maxA = c.node.float('max');
  const loV = lo ? lo : minA !== undefined ? c.scalar(minA, x) : undefined;
  const hiV = hi ? hi : maxA !== undefined ? c.scalar(maxA, x) : undefined;
  if (loV) g = c.op('Where', [c.op('Less', [x, loV]), c.scalar(0, x), g]);
  if (hiV) g = c.op('Where', [c.op('Greater', [x, hiV]), c.scalar(0, x), g]);
  return [g];
};

export const activationRules: Record<string, GradRule> = {
  Relu: relu,
  LeakyRelu: leakyRelu,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Erf: erf,
  Gelu: gelu,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Clip: clip,
};
