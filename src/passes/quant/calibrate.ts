// Calibration: streams task data through a copy of the model whose chosen intermediate tensors are
// extra outputs, and folds every batch into one fixed-size histogram per tensor. Nothing is kept per
// sample, so memory does not grow with the number of samples.

import * as ort from 'onnxruntime-node';
import { DataType } from '../../onnx/dtype.js';
import { EdgefitError } from '../../onnx/errors.js';
import type { Model } from '../../onnx/model.js';
import { createSession } from '../../runtime/session.js';
import type { Feeds } from '../pass.js';
import { type CalibrationMethod, StreamingHistogram } from './histogram.js';

export interface CalibrationOptions {
  method: CalibrationMethod;
  /** For 'percentile': the share of values kept inside the range (default 99.99). */
  percentile?: number;
  /** Stop after this many samples (first dimension of the first input); default: the whole stream. */
  maxSamples?: number;
  bins?: number;
  threads?: number;
}

export interface CalibrationResult {
  ranges: Map<string, [number, number]>;
  samples: number;
  batches: number;
}

export class CalibrationError extends EdgefitError {
  constructor(message: string, hint?: string) {
    super(message, 'E_CALIBRATION', hint);
    this.name = 'CalibrationError';
  }
}

/** Converts pass-context feeds into ORT tensors (typed arrays of the right kind). */
export function toOrtFeeds(feeds: Feeds): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(feeds)) {
    const dims = [...f.dims];
    const type = f.type === 'float' ? 'float32' : (f.type ?? typeOfData(f.data));
    let data: ort.Tensor.DataType;
    if (type === 'float32') data = f.data instanceof Float32Array ? f.data : Float32Array.from(f.data as ArrayLike<number>);
    else if (type === 'int64')
      data = f.data instanceof BigInt64Array ? f.data : BigInt64Array.from(Array.from(f.data as ArrayLike<number | bigint>, (v) => BigInt(v)));
    else if (type === 'int32') data = f.data instanceof Int32Array ? f.data : Int32Array.from(f.data as ArrayLike<number>);
    else if (type === 'uint8') data = f.data instanceof Uint8Array ? f.data : Uint8Array.from(f.data as ArrayLike<number>);
    else if (type === 'bool') data = f.data instanceof Uint8Array ? f.data : Uint8Array.from(f.data as ArrayLike<number>);
    else
      throw new CalibrationError(
        `calibration feed '${name}' has type ${f.type}, which edgefit cannot pass to the model`,
        'feed float32, int64, int32, uint8 or bool tensors',
      );
    out[name] = new ort.Tensor(type as 'float32', data as Float32Array, dims);
  }
  return out;
}

function typeOfData(d: unknown): string {
  if (d instanceof BigInt64Array) return 'int64';
  if (d instanceof Int32Array) return 'int32';
  if (d instanceof Uint8Array) return 'uint8';
  return 'float32';
}

/** A copy of the model that also outputs `tensors` (as float32 of unknown shape). */
export function withExtraOutputs(model: Model, tensors: string[]): Model {
  const m = model.clone();
  const present = new Set(m.graph.outputs.map((o) => o.name));
  for (const t of tensors) if (!present.has(t)) m.graph.outputs.push({ name: t, type: { kind: 'tensor', elemType: DataType.FLOAT } });
  return m;
}

/** Ranges of the named float tensors (graph inputs or node outputs) over the calibration stream. */
export async function calibrate(model: Model, tensors: string[], stream: () => AsyncIterable<Feeds>, opts: CalibrationOptions): Promise<CalibrationResult> {
  const inputNames = new Set(model.graph.realInputs().map((i) => i.name));
  const observed = tensors.filter((t) => !inputNames.has(t));
  const session = await createSession(withExtraOutputs(model, observed), { threads: opts.threads ?? 1, graphOptimizationLevel: 'basic' });
  const hists = new Map<string, StreamingHistogram>(tensors.map((t) => [t, new StreamingHistogram(opts.bins ?? 8192)]));
  let samples = 0;
  let batches = 0;
  try {
    for await (const feeds of stream()) {
      const ortFeeds = toOrtFeeds(feeds);
      const missing = session.inputNames.filter((n) => !(n in ortFeeds));
      if (missing.length)
        throw new CalibrationError(
          `calibration data lacks model input(s) ${missing.join(', ')}`,
          `the model's inputs are ${session.inputNames.join(', ')}; use a task whose inputs match`,
        );
      const result = observed.length ? await session.run(ortFeeds, observed) : {};
      for (const t of tensors) {
        const v = inputNames.has(t) ? ortFeeds[t] : result[t];
        if (v && v.type === 'float32') hists.get(t)!.add(v.data as Float32Array);
      }
      const first = Object.values(feeds)[0];
      samples += first?.dims[0] ?? 1;
      batches++;
      if (opts.maxSamples !== undefined && samples >= opts.maxSamples) break;
    }
  } finally {
    await session.release();
  }
  if (batches === 0)
    throw new CalibrationError('the calibration stream gave no data', 'pass a task or data directory with at least one sample, or --calibration random');
  const ranges = new Map<string, [number, number]>();
  for (const [t, h] of hists) ranges.set(t, h.range(opts.method, { percentile: opts.percentile }));
  return { ranges, samples, batches };
}
