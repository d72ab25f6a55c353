// The teacher term of CTC training (knowledge distillation per frame, Hinton et al. 2015 at T = 1): the
// teacher's frame probabilities p_t are mixed into the CTC targets, (1 − α)·γ_t + α·p_t, so the one
// per-frame cross-entropy of the training graph has the gradient (1 − α)·∇CTC + α·∇Σ_t KL(p_t ‖ q_t).
// A sample whose text does not fit (or has none) still learns from the teacher alone. The teacher's
// probabilities are computed when a sample is first drawn and, with `cache`, kept for later steps (up to
// `cacheBytes`), so an epoch after the first runs no teacher at all. Each frame keeps its `topK` most
// likely classes and spreads the rest of its mass evenly (sparse-frames.ts), whether cached or not, so
// the cache changes no weight; on PaddleOCR rec (40 frames × 6,625 classes) a sample takes 7,840 bytes
// instead of 1,060,000, and the default 1 GiB holds every training item.

import * as ort from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { createSession } from '../runtime/session.js';
import type { CtcTargets } from './ctc.js';
import { logitsModel } from './training-logits.js';
import { expandFrames, sparseBytes, topKFrames, type SparseFrames } from './sparse-frames.js';

/** A sample's teacher probabilities as kept: dense, or the top classes of each frame. */
type Kept = Float32Array | SparseFrames;

export interface CtcTeacher {
  /** The teacher's frame probabilities of samples `idx`, back to back: [k·T·C]. */
  probs(idx: ArrayLike<number>): Promise<Float32Array>;
  /** Teacher runs so far (a run computes the samples of one batch that were not cached). */
  readonly runs: number;
  /** With top-k frames: the least share of a frame's mass that its kept classes held, over the frames computed so far. */
  readonly keptMass: number | undefined;
  release(): Promise<void>;
}

export interface CtcTeacherOptions {
  frames: number;
  classes: number;
  threads?: number;
  /** Keep each sample's probabilities once computed (default true). */
  cache?: boolean;
  /** Most bytes the cache holds (default 1 GiB); samples past it are recomputed when drawn. */
  cacheBytes?: number;
  /** Classes kept a frame, the rest of its mass spread evenly (default DEFAULT_TEACHER_TOP_K); 0 keeps every class. */
  topK?: number;
}

/** Classes a frame keeps of the teacher's probabilities by default. */
export const DEFAULT_TEACHER_TOP_K = 32;

export async function openCtcTeacher(teacher: Model, data: { x: Float32Array; sampleShape: number[] }, opts: CtcTeacherOptions): Promise<CtcTeacher> {
  const { model: m, logits: tensor } = logitsModel(teacher);
  const session = await createSession(m, { threads: opts.threads ?? 1 });
  const input = session.inputNames[0]!;
  const size = data.sampleShape.reduce((p, q) => p * q, 1);
  const per = opts.frames * opts.classes;
  const k = opts.topK ?? DEFAULT_TEACHER_TOP_K;
  if (!(Number.isInteger(k) && k >= 0)) throw new UsageError(`the teacher's top-k must be a whole number ≥ 0, got ${k}`, 'e.g. 32, or 0 to keep every class');
  const sparse = k > 0 && k < opts.classes;
  const bytes = sparse ? sparseBytes(opts.frames, opts.classes, k) : per * 4;
  const cap = opts.cache === false ? 0 : Math.floor((opts.cacheBytes ?? 2 ** 30) / bytes);
  const cache = new Map<number, Kept>();
  let runs = 0;
  let keptMass: number | undefined;
  const compute = async (missing: number[]): Promise<Kept[]> => {
    const x = new Float32Array(missing.length * size);
    for (const [i, j] of missing.entries()) x.set(data.x.subarray(j * size, (j + 1) * size), i * size);
    const out = (await session.run({ [input]: new ort.Tensor('float32', x, [missing.length, ...data.sampleShape]) }))[tensor]!;
    runs++;
    if (out.dims.length !== 3 || out.dims[1] !== opts.frames || out.dims[2] !== opts.classes)
      throw new UsageError(
        `the teacher's '${tensor}' is [${out.dims.join(', ')}] and the student's frames are [N, ${opts.frames}, ${opts.classes}]: they must match`,
        'distil from a teacher with the same output (the source model of the chain)',
      );
    const logits = out.data as Float32Array;
    return missing.map((_, i) => {
      const p = softmaxRows(logits.subarray(i * per, (i + 1) * per), opts.classes);
      if (!sparse) return p;
      const kept = topKFrames(p, opts.frames, opts.classes, k);
      for (const r of kept.rest) keptMass = Math.min(keptMass ?? 1, 1 - r);
      return kept;
    });
  };
  return {
    get runs() {
      return runs;
    },
    get keptMass() {
      return keptMass;
    },
    async probs(idx) {
      const ids = Array.from(idx);
      const missing = [...new Set(ids.filter((j) => !cache.has(j)))];
      const fresh = new Map<number, Kept>();
      if (missing.length) for (const [i, p] of (await compute(missing)).entries()) fresh.set(missing[i]!, p);
      for (const [j, p] of fresh) if (cache.size < cap) cache.set(j, p);
      const all = new Float32Array(ids.length * per);
      for (const [i, j] of ids.entries()) {
        const kept = (cache.get(j) ?? fresh.get(j))!;
        if (kept instanceof Float32Array) all.set(kept, i * per);
        else expandFrames(kept, all, i * per);
      }
      return all;
    },
    release: () => session.release(),
  };
}

/** Row-wise softmax of [rows, C] logits (float64 sums). */
function softmaxRows(x: Float32Array, C: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += C) {
    let m = -Infinity;
    for (let k = 0; k < C; k++) m = Math.max(m, x[o + k]!);
    let z = 0;
    for (let k = 0; k < C; k++) z += Math.exp(x[o + k]! - m);
    for (let k = 0; k < C; k++) out[o + k] = Math.exp(x[o + k]! - m) / z;
  }
  return out;
}

/**
 * The batch's targets with the teacher mixed in: (1 − α)·γ + α·p on a sample whose text fits, p alone on
 * the others; every sample's frames weigh 1/N. `t` is changed in place and returned.
 */
export function mixTeacher(t: CtcTargets, probs: Float32Array, alpha: number): CtcTargets {
  if (!(alpha >= 0 && alpha <= 1)) throw new UsageError(`the distillation weight must be in [0, 1], got ${alpha}`);
  if (probs.length !== t.target.length) throw new UsageError(`teacher probabilities of ${probs.length} values for targets of ${t.target.length}`);
  const N = t.loss.length;
  const per = t.target.length / N;
  for (let i = 0; i < N; i++) {
    const a = Number.isFinite(t.loss[i]!) ? alpha : 1;
    for (let r = i * per; r < (i + 1) * per; r++) t.target[r] = (1 - a) * t.target[r]! + a * probs[r]!;
  }
  t.weight.fill(1 / N);
  return t;
}
