// A teacher's per-frame class probabilities, kept as the k most likely classes of each frame and the
// mass left over, which is spread evenly over the other classes when the frames are read back. An OCR
// teacher such as PaddleOCR rec (40 frames × 6,625 classes, 1 MiB a sample as float32) puts nearly all
// of a frame's mass on a few classes, so 32 a frame hold it in about 8 KiB: a distillation's cache of
// the teacher then holds every training sample instead of a thousand.

export interface SparseFrames {
  frames: number;
  classes: number;
  k: number;
  /** [frames·k] class indices, most likely first. */
  index: Uint16Array | Uint32Array;
  /** [frames·k] their probabilities. */
  prob: Float32Array;
  /** [frames] the mass on the other classes: 1 − Σ prob of the frame. */
  rest: Float32Array;
}

/** Bytes that sparse frames of this shape hold (two-byte indices up to 65,536 classes, four above). */
export function sparseBytes(frames: number, classes: number, k: number): number {
  const kk = Math.min(k, classes);
  return frames * (kk * ((classes > 0x10000 ? 4 : 2) + 4) + 4);
}

/** The k most likely classes of each of `frames` rows of `classes` probabilities (ties: the lower class first). */
export function topKFrames(p: Float32Array, frames: number, classes: number, k: number): SparseFrames {
  if (!(k >= 1)) throw new RangeError(`k must be at least 1, got ${k}`);
  if (p.length !== frames * classes) throw new RangeError(`${p.length} probabilities for ${frames} frames of ${classes} classes`);
  const kk = Math.min(k, classes);
  // class indices up to 65,535 fit two bytes
  const index = classes > 0x10000 ? new Uint32Array(frames * kk) : new Uint16Array(frames * kk);
  const prob = new Float32Array(frames * kk);
  const rest = new Float32Array(frames);
  const ti = new Int32Array(kk);
  const tv = new Float64Array(kk);
  for (let f = 0; f < frames; f++) {
    const o = f * classes;
    let n = 0;
    for (let c = 0; c < classes; c++) {
      const v = p[o + c]!;
      if (n === kk && v <= tv[kk - 1]!) continue;
      // insert into the sorted top list (descending), dropping its last when full
      let j = n < kk ? n++ : kk - 1;
      while (j > 0 && tv[j - 1]! < v) {
        tv[j] = tv[j - 1]!;
        ti[j] = ti[j - 1]!;
        j--;
      }
      tv[j] = v;
      ti[j] = c;
    }
    let kept = 0;
    for (let j = 0; j < kk; j++) {
      index[f * kk + j] = ti[j]!;
      prob[f * kk + j] = tv[j]!;
      kept += tv[j]!;
    }
    rest[f] = Math.max(0, 1 - kept);
  }
  return { frames, classes, k: kk, index, prob, rest };
}

/** The frames back as dense probabilities, written into `out` at `at`: the kept classes exactly, the rest evenly. */
export function expandFrames(s: SparseFrames, out: Float32Array, at = 0): void {
  const { frames, classes, k } = s;
  const others = classes - k;
  for (let f = 0; f < frames; f++) {
    const o = at + f * classes;
    out.fill(others > 0 ? s.rest[f]! / others : 0, o, o + classes);
    for (let j = 0; j < k; j++) out[o + s.index[f * k + j]!] = s.prob[f * k + j]!;
  }
}
