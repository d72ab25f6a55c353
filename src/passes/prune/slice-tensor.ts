// Keeps chosen indices of a constant tensor along one axis: the one tensor edit channel surgery needs
// (weights, biases, BatchNorm parameters, per-channel constants).

import { Tensor } from '../../onnx/tensor.js';

/** A new tensor holding only `keep` (ascending indices) along `axis`; same element type. */
export function sliceTensor(t: Tensor, axis: number, keep: readonly number[], name = t.name): Tensor {
  const dims = [...t.dims];
  const n = dims[axis];
  if (n === undefined) throw new Error(`sliceTensor: ${t.name} has no axis ${axis}`);
  const outer = dims.slice(0, axis).reduce((p, q) => p * q, 1);
  const inner = dims.slice(axis + 1).reduce((p, q) => p * q, 1);
  const src = t.toNumbers();
  const out = new Float64Array(outer * keep.length * inner);
  let at = 0;
  for (let o = 0; o < outer; o++)
    for (const k of keep) {
      const base = (o * n + k) * inner;
      for (let i = 0; i < inner; i++) out[at++] = src[base + i]!;
    }
  dims[axis] = keep.length;
  return Tensor.fromNumbers(name, t.dataType, dims, out);
}
