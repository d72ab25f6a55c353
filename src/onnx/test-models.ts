// Shared by the src/onnx tests: the PaddleOCR models, seeded inputs, and running a model under ORT so
// two versions of a model can be compared output by output.

import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Model } from './model.js';
import { serializeModel } from './write-model.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const assets = join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets');

/** The three third-party models, with an input shape each accepts. */
export const PADDLE = {
  det: { path: join(assets, 'ch_PP-OCRv4_det_infer.onnx'), shape: [1, 3, 64, 96] },
  rec: { path: join(assets, 'ch_PP-OCRv4_rec_infer.onnx'), shape: [1, 3, 48, 160] },
  cls: { path: join(assets, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), shape: [1, 3, 48, 192] },
} as const;

/** Deterministic float32 values in [-1, 1) (a small LCG, so tests need no dependency). */
export function seededFloats(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

export function floatFeed(dims: readonly number[], seed = 1): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return new ort.Tensor('float32', seededFloats(n, seed), [...dims]);
}

/** Runs a model (path, bytes or IR) once with 1 thread and returns every output. */
export async function runOnce(
  model: string | Uint8Array | Model,
  feeds: Record<string, ort.Tensor>,
  opts: { optimize?: boolean } = {},
): Promise<Record<string, ort.Tensor>> {
  const src = typeof model === 'string' || model instanceof Uint8Array ? model : serializeModel(model);
  const so: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.optimize === false ? 'disabled' : 'all',
    logSeverityLevel: 3,
  };
  const session = typeof src === 'string' ? await ort.InferenceSession.create(src, so) : await ort.InferenceSession.create(src, so);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Largest |a-b| over two outputs of the same shape; Infinity when the shapes or types differ. */
export function maxAbsDiff(a: ort.Tensor, b: ort.Tensor): number {
  if (a.type !== b.type || a.dims.join(',') !== b.dims.join(',')) return Infinity;
  const x = a.data as ArrayLike<number>;
  const y = b.data as ArrayLike<number>;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(Number(x[i]) - Number(y[i]));
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** True when both outputs have the same type, dims and bytes. */
export function bitIdentical(a: ort.Tensor, b: ort.Tensor): boolean {
  if (a.type !== b.type || a.dims.join(',') !== b.dims.join(',')) return false;
  const x = a.data as ArrayBufferView;
  const y = b.data as ArrayBufferView;
  return Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)) === 0;
}
