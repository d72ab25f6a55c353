// Dropout, Where and Cast.

import { isFloat, type GradRule } from './grad-context.js';

// Dropout: identity at inference; in training the mask output (added by the builder) scales dy.
const dropout: GradRule = (c) => {
  const mask = c.y[1];
  const training = c.x[2];
  if (!mask || !training) return [c.gy[0]!];
  const ratio = c.x[1] ? c.x[1] : c.scalar(c.node.float('ratio', 0.5), c.x[0]!);
  const keep = c.op('Sub', [c.scalar(1, c.x[0]!), ratio]);
  return [c.op('Div', [c.op('Mul', [c.gy[0]!, c.mask(mask, c.x[0]!)]), keep])];
};

// Where(cond, a, b): dy goes to a where cond holds, to b elsewhere.
const where: GradRule = (c) => {
  const [cond, a, b] = [c.x[0]!, c.x[1]!, c.x[2]!];
  const g = c.gy[0]!;
  const z = c.scalar(0, c.y[0]!);
  return [
    undefined,
    c.needs[1] ? c.unbroadcast(c.op('Where', [cond, g, z]), a) : undefined,
    c.needs[2] ? c.unbroadcast(c.op('Where', [cond, z, g]), b) : undefined,
  ];
};

const cast: GradRule = (c) => {
  const x = c.x[0]!;
  if (!isFloat(c.dtype(x))) return [undefined];
  return [c.op('Cast', [c.gy[0]!], { to: c.dtype(x) })];
};

export const miscRules: Record<string, GradRule> = { Dropout: dropout, Where: where, Cast: cast };
