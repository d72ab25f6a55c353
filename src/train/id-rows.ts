// Token-id batches as training rows: the int64 ids of a text task's batch (padded to the batch's longest
// item) as float32 rows of the task's full length, padded with id 0 ([PAD] in BERT vocabularies), so that
// every row has one shape and the float-fed view of the model (id-input-view.ts) reads them.

import type * as ort from 'onnxruntime-node';
import { EdgefitError } from '../onnx/errors.js';

/** The batch's ids as float32 rows of `length` (ids past it are cut, as the tokenizer would). */
export function idRows(t: ort.Tensor, length: number): Float32Array {
  const [n, T] = t.dims as [number, number];
  const src = t.data as BigInt64Array;
  const out = new Float32Array(n * length);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < Math.min(T, length); j++) {
      const id = Number(src[i * T + j]!);
      if (id < 0 || id >= 2 ** 24)
        throw new EdgefitError(`token id ${id} is outside what training reads exactly (0 … 2^24)`, 'E_DATA_TYPE', 'check the tokenizer');
      out[i * length + j] = id;
    }
  return out;
}
