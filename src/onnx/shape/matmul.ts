// Matrix products: MatMul and its quantized and contrib forms, Gemm.

import { DataType } from '../dtype.js';
import type { Dim } from '../graph.js';
import { type Ctx, type RuleTable, type TensorInfo, broadcastShapes, withType } from './types.js';

export function matmulShape(a: Dim[] | undefined, b: Dim[] | undefined): Dim[] | undefined {
  if (!a || !b || a.length === 0 || b.length === 0) return undefined;
  const A = a.length === 1 ? [1, a[0]] : a;
  const B = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2));
  if (!batch) return undefined;
  const out = [...batch, A[A.length - 2], B[B.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

function gemm(c: Ctx): (TensorInfo | undefined)[] {
  const a = c.t[0]?.shape;
  const b = c.t[1]?.shape;
  const ty = c.t[0]?.elemType ?? c.t[1]?.elemType;
  if (ty === undefined) return [];
  if (!a || !b || a.length !== 2 || b.length !== 2) return [{ elemType: ty, shape: [undefined, undefined] }];
  const m = c.node.int('transA', 0) ? a[1] : a[0];
  const n = c.node.int('transB', 0) ? b[0] : b[1];
  return [{ elemType: ty, shape: [m, n] }];
}

function matmulNBits(c: Ctx): (TensorInfo | undefined)[] {
  const a = c.t[0];
  const n = c.node.int('N');
  if (!a) return [];
  return [{ elemType: a.elemType, shape: a.shape && n !== undefined ? [...a.shape.slice(0, -1), n] : undefined }];
}

/** The last two dims swapped when `on`. */
const transposed = (s: Dim[] | undefined, on: number) => (s && on && s.length >= 2 ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);

export const matmulRules: RuleTable = {
  MatMul: (c) => {
    const ty = c.t[0]?.elemType ?? c.t[1]?.elemType;
    return ty === undefined ? [] : [{ elemType: ty, shape: matmulShape(c.t[0]?.shape, c.t[1]?.shape) }];
  },
  MatMulInteger: (c) => [{ elemType: DataType.INT32, shape: matmulShape(c.t[0]?.shape, c.t[1]?.shape) }],
  QLinearMatMul: (c) => [{ elemType: c.t[7]?.elemType ?? c.t[0]?.elemType ?? DataType.UINT8, shape: matmulShape(c.t[0]?.shape, c.t[3]?.shape) }],
  Gemm: gemm,
};

export const msMatmulRules: RuleTable = {
  MatMulNBits: matmulNBits,
  DynamicQuantizeMatMul: (c) => [{ elemType: c.t[0]?.elemType ?? DataType.FLOAT, shape: matmulShape(c.t[0]?.shape, c.t[1]?.shape) }],
  MatMulIntegerToFloat: (c) => [{ elemType: c.t[2]?.elemType ?? DataType.FLOAT, shape: matmulShape(c.t[0]?.shape, c.t[1]?.shape) }],
  FusedMatMul: (c) => {
    const ty = c.t[0]?.elemType;
    if (ty === undefined) return [];
    return [{ elemType: ty, shape: matmulShape(transposed(c.t[0]?.shape, c.node.int('transA', 0)), transposed(c.t[1]?.shape, c.node.int('transB', 0))) }];
  },
  QGemm: (c) => gemm({ ...c, t: [c.t[0], c.t[3]] }).map((t) => withType(t, c.t[7]?.elemType ?? DataType.FLOAT)),
};
