// Test and benchmark helpers that look at what ONNX Runtime does with a quantized model: its optimized
// graph (which fusions happened) and outputs compared with the float model.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Model } from '../../onnx/model.js';
import { readModel } from '../../onnx/read-model.js';
import { createSession, type SessionOptions } from '../../runtime/session.js';
import { argmax } from '../../util/vector.js';

/** Op-type counts (domain-qualified for non-default domains) of ORT's optimized graph of `model`. */
export async function optimizedOpCounts(model: Model, opts: SessionOptions = {}): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-opt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const s = await createSession(model, { ...opts, optimizedModelPath: path });
    await s.release();
    const counts = new Map<string, number>();
    for (const n of readModel(path).graph.nodes) {
      const key = n.isDefaultDomain ? n.opType : `${n.domain}.${n.opType}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type FloatFeeds = Record<string, { dims: number[]; data: Float32Array }>;
/** Float feeds plus int64 ones (a sample rate that selects a branch, token ids). */
export type MixedFeeds = Record<string, { dims: number[]; data: Float32Array | BigInt64Array }>;

/** Runs a model on float (or int64) feeds and returns every output as float32. */
export async function runModel(model: Model | string, feeds: MixedFeeds, opts: SessionOptions = {}): Promise<Record<string, Float32Array>> {
  const s = await createSession(model, opts);
  try {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds))
      f[k] = v.data instanceof BigInt64Array ? new ort.Tensor('int64', v.data, v.dims) : new ort.Tensor('float32', v.data, v.dims);
    const out = await s.run(f);
    const res: Record<string, Float32Array> = {};
    for (const name of s.outputNames) {
      const d = out[name]!.data;
      res[name] = d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
    }
    return res;
  } finally {
    await s.release();
  }
}

/**
 * Cosine similarity for output checks. Not src/util/vector.ts's cosine on purpose: when one side is all
 * zero this one passes a NaN or ±Infinity in the other side through (NaN) instead of answering 0, so a
 * model that emits NaN never reads as a plain disagreement in a check or a benchmark table.
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  if (aa === 0 && bb === 0) return 1;
  return ab / Math.sqrt(aa * bb || 1e-300);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function relL2(ref: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < ref.length; i++) {
    d += (ref[i]! - b[i]!) ** 2;
    r += ref[i]! ** 2;
  }
  return Math.sqrt(d / (r || 1e-300));
}

/** Fraction of rows (last axis = classes) whose argmax agrees. */
export function top1Agreement(a: ArrayLike<number>, b: ArrayLike<number>, classes: number): number {
  const rows = Math.floor(a.length / classes);
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    if (argmax(a, r * classes, classes) === argmax(b, r * classes, classes)) agree++;
  }
  return rows ? agree / rows : 1;
}
