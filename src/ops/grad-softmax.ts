// Softmax and LogSoftmax along one axis (opset ≥ 13 semantics: a single axis, default −1).
//   softmax:    dx = y ⊙ (dy − Σ_axis dy⊙y)
//   logsoftmax: dx = dy − exp(y) ⊙ Σ_axis dy

import { normAxis, type GradRule } from './grad-context.js';

const softmax: GradRule = (c) => {
  const y = c.y[0]!;
  const g = c.gy[0]!;
  const axis = normAxis(c.node.int('axis', -1), c.rank(y));
  const s = c.reduce('ReduceSum', c.op('Mul', [g, y]), [axis], true);
  return [c.op('Mul', [y, c.op('Sub', [g, s])])];
};

const logSoftmax: GradRule = (c) => {
  const y = c.y[0]!;
  const g = c.gy[0]!;
  const axis = normAxis(c.node.int('axis', -1), c.rank(y));
  const s = c.reduce('ReduceSum', g, [axis], true);
  return [c.op('Sub', [g, c.op('Mul', [c.op('Exp', [y]), s])])];
};

export const softmaxRules: Record<string, GradRule> = { Softmax: softmax, LogSoftmax: logSoftmax };
