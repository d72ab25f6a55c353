// Gradients of elementwise arithmetic with numpy broadcasting: each input's gradient is summed back
// down to that input's shape.
//   y = a ∘ b (broadcast) ;  da = unbroadcast(∂y/∂a · dy, a)

import type { GradRule } from './grad-context.js';

const add: GradRule = (c) => {
  const g = c.gy[0]!;
  return [c.needs[0] ? c.unbroadcast(g, c.x[0]!) : undefined, c.needs[1] ? c.unbroadcast(g, c.x[1]!) : undefined];
};

const sub: GradRule = (c) => {
  const g = c.gy[0]!;
  return [c.needs[0] ? c.unbroadcast(g, c.x[0]!) : undefined, c.needs[1] ? c.unbroadcast(c.op('Neg', [g]), c.x[1]!) : undefined];
};

const mul: GradRule = (c) => {
  const g = c.gy[0]!;
  const [a, b] = [c.x[0]!, c.x[1]!];
  return [c.needs[0] ? c.unbroadcast(c.op('Mul', [g, b]), a) : undefined, c.needs[1] ? c.unbroadcast(c.op('Mul', [g, a]), b) : undefined];
};

// y = a / b:  da = dy / b ;  db = -dy · y / b
const div: GradRule = (c) => {
  const g = c.gy[0]!;
  const [a, b, y] = [c.x[0]!, c.x[1]!, c.y[0]!];
  const gb = c.op('Div', [g, b]);
  return [c.needs[0] ? c.unbroadcast(gb, a) : undefined, c.needs[1] ? c.unbroadcast(c.op('Neg', [c.op('Mul', [gb, y])]), b) : undefined];
};

// y = a ^ b:  da = dy · b · a^(b-1) ;  db = dy · y · ln a
const pow: GradRule = (c) => {
  const g = c.gy[0]!;
  const [a, b, y] = [c.x[0]!, c.x[1]!, c.y[0]!];
  let da: string | undefined;
  let db: string | undefined;
  if (c.needs[0]) {
    const bA = c.dtype(b) === c.dtype(a) ? b : c.op('Cast', [b], { to: c.dtype(a) });
    const am1 = c.op('Pow', [a, c.op('Sub', [b, c.scalar(1, b)])]);
    da = c.unbroadcast(c.op('Mul', [g, c.op('Mul', [bA, am1])]), a);
  }
  if (c.needs[1]) db = c.unbroadcast(c.op('Mul', [g, c.op('Mul', [y, c.op('Log', [a])])]), b);
  return [da, db];
};

const neg: GradRule = (c) => [c.op('Neg', [c.gy[0]!])];
// y = √x:  dx = dy / (2y)
const sqrt: GradRule = (c) => [c.op('Div', [c.gy[0]!, c.op('Mul', [c.y[0]!, c.scalar(2, c.y[0]!)])])];
const exp: GradRule = (c) => [c.op('Mul', [c.gy[0]!, c.y[0]!])];
const log: GradRule = (c) => [c.op('Div', [c.gy[0]!, c.x[0]!])];
const identity: GradRule = (c) => [c.gy[0]!];

// Sum of n inputs (also used for accumulation): each input gets dy un-broadcast.
const sum: GradRule = (c) => c.x.map((x, k) => (c.needs[k] ? c.unbroadcast(c.gy[0]!, x) : undefined));

export const elementwiseRules: Record<string, GradRule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Pow: pow,
  Neg: neg,
  Sqrt: sqrt,
  Exp: exp,
  Log: log,
  Identity: identity,
  Sum: sum,
};
