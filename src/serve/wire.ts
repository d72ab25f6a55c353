// Messages between the server's main thread and its inference workers, and the tensor form that
// crosses the thread boundary (typed arrays, transferred, never copied into JSON).

import type { FeedOptions } from '../runtime/inputs.js';
import type { SessionOptions } from '../runtime/session.js';
import type { WorkerPriority } from './nice.js';
import type { OutputSpec } from '../data/spec.js';
import type { Decoded } from './decode-result.js';

export interface WireTensor {
  type: string;
  dims: number[];
  data: ArrayLike<number> | ArrayLike<bigint> | readonly string[];
}
export type WireTensors = Record<string, WireTensor>;

/** A declared input or output of a model: ORT's metadata, dims as numbers, names or undefined. */
export interface TensorMeta {
  name: string;
  type: string;
  shape: (number | string | undefined)[] | undefined;
}
export interface ModelIo {
  inputs: TensorMeta[];
  outputs: TensorMeta[];
}

export interface WorkerModel {
  id: string;
  path: string;
}

export type ToWorker =
  | { type: 'load'; models: WorkerModel[]; session: SessionOptions; nice?: WorkerPriority }
  | { type: 'warmup'; runs: number; feeds: Record<string, FeedOptions> }
  /** The task's output decoding, so that a run for an image request answers with the decoded result only. */
  | { type: 'decoder'; output: OutputSpec; baseDir?: string; ignoreWhitespace: boolean }
  /** `decodeRows`: decode the outputs in the worker, one answer per request of these batch rows (one entry: the whole output). */
  | { type: 'run'; job: number; model: string; feeds: WireTensors; decodeRows?: number[] };

export type FromWorker =
  | { type: 'ready'; io: Record<string, ModelIo> }
  | { type: 'warm'; warmupMs: Record<string, number[]> }
  | { type: 'fatal'; message: string; code?: string; hint?: string }
  /** With `decoded` (one per row group asked for), `outputs` is empty: the tensors stay in the worker. */
  | { type: 'done'; job: number; outputs: WireTensors; computeMs: number; decoded?: Decoded[] }
  | { type: 'failed'; job: number; message: string };

/** The buffers of a tensor set, for postMessage's transfer list (views over one buffer counted once). */
export function transferList(t: WireTensors): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of Object.values(t)) {
    const d = v.data as { buffer?: unknown };
    if (ArrayBuffer.isView(d) && d.buffer instanceof ArrayBuffer) out.add(d.buffer);
  }
  return [...out];
}
