// MatMul and Gemm.
//   MatMul  a (…,M,K) @ b (…,K,N) → y (…,M,N):  da = dy @ bᵀ,  db = aᵀ @ dy  (then un-broadcast the batch dims)
//   Gemm    y = α·A′B′ + β·C with A′ = transA ? Aᵀ : A, likewise B′.

import { UsageError } from '../onnx/errors.js';
import type { GradRule } from './grad-context.js';

const matMul: GradRule = (c) => {
  const [a, b] = [c.x[0]!, c.x[1]!];
  const g = c.gy[0]!;
  const ra = c.rank(a);
  const rb = c.rank(b);
  if (ra < 2 || rb < 2)
    throw new UsageError(`MatMul '${c.node.name}': gradients of 1-D MatMul operands are not supported`, 'reshape the operand to 2-D before the MatMul');
  const gShape = c.shape(c.y[0]!);
  const da = c.needs[0] ? c.unbroadcast(c.op('MatMul', [g, c.swapLast(b, rb)]), a, gShape.slice(0, -1).concat(c.shape(a).slice(-1))) : undefined;
  const db = c.needs[1] ? c.unbroadcast(c.op('MatMul', [c.swapLast(a, ra), g]), b, gShape.slice(0, -2).concat(c.shape(b).slice(-2))) : undefined;
  return [da, db];
};

const gemm: GradRule = (c) => {
  const [a, b, cIn] = [c.x[0]!, c.x[1]!, c.x[2]];
  const g = c.gy[0]!;
  const alpha = c.node.float('alpha', 1);
  const beta = c.node.float('beta', 1);
  const tA = c.node.int('transA', 0);
  const tB = c.node.int('transB', 0);
  let da: string | undefined;
  let db: string | undefined;
  if (c.needs[0]) {
    da = tA
      ? tB
        ? c.op('Gemm', [b, g], { transA: 1, transB: 1, alpha })
        : c.op('Gemm', [b, g], { transB: 1, alpha })
      : c.op('Gemm', [g, b], { transB: tB ? 0 : 1, alpha });
  }
  if (c.needs[1]) {
    db = tB
      ? tA
        ? c.op('Gemm', [g, a], { transA: 1, transB: 1, alpha })
        : c.op('Gemm', [g, a], { transA: 1, alpha })
      : c.op('Gemm', [a, g], { transA: tA ? 0 : 1, alpha });
  }
  let dc: string | undefined;
  if (cIn && c.needs[2]) {
    const gb = beta === 1 ? g : c.op('Mul', [g, c.scalar(beta, c.y[0]!)]);
    dc = c.unbroadcast(gb, cIn);
  }
  return [da, db, dc];
};

export const linearRules: Record<string, GradRule> = { MatMul: matMul, Gemm: gemm };
