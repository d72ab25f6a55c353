// Output decoding: class probabilities (softmax when the model gives logits), CTC greedy decoding with a
// character alphabet, and flat embeddings.

/** Rows of an [N, C, …] output as probabilities. 'auto' applies softmax unless rows already sum to 1. */
export function classProbabilities(data: Float32Array, n: number, activation: 'auto' | 'softmax' | 'none'): Float32Array[] {
  const c = data.length / n;
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) rows.push(data.slice(i * c, (i + 1) * c));
  const isProb = (r: Float32Array) => {
    let s = 0;
    for (const v of r) {
      if (v < -1e-6 || v > 1 + 1e-6) return false;
      s += v;
    }
    return Math.abs(s - 1) < 1e-3;
  };
  const apply = activation === 'softmax' || (activation === 'auto' && !rows.every(isProb));
  return apply ? rows.map(softmax) : rows;
}

export function softmax(r: Float32Array): Float32Array {
  let m = -Infinity;
  for (const v of r) m = Math.max(m, v);
  const out = new Float32Array(r.length);
  let s = 0;
  for (let i = 0; i < r.length; i++) s += out[i] = Math.exp(r[i]! - m);
  for (let i = 0; i < r.length; i++) out[i]! /= s;
  return out;
}

/** The classes of a CTC alphabet that are whitespace (for `ctcGreedy`'s `uncounted`); computed once per alphabet. */
export function whitespaceClasses(alphabet: readonly string[]): ReadonlySet<number> {
  const out = new Set<number>();
  alphabet.forEach((ch, k) => {
    if (/^\s+$/.test(ch)) out.add(k);
  });
  return out;
}

/**
 * Greedy CTC over an [N, T, C] output: argmax per step, merge repeats, drop blanks. The confidence is the
 * mean max-probability over the kept steps (PaddleOCR's score); `least` is the lowest, over the characters,
 * of the highest max-probability within each character's run of steps (0 for an empty text). Classes in
 * `uncounted` (a task that ignores whitespace: `whitespaceClasses`) stay in the text but count in neither
 * confidence.
 */
export function ctcGreedy(
  data: Float32Array,
  dims: readonly number[],
  alphabet: readonly string[],
  blank: number,
  uncounted?: ReadonlySet<number>,
): { text: string; confidence: number; least: number }[] {
  const [n, t, c] = dims as [number, number, number];
  if (dims.length !== 3) throw new Error(`CTC decoding expects an output of rank 3 [N, T, C], got [${dims.join(', ')}]`);
  const out: { text: string; confidence: number; least: number }[] = [];
  for (let i = 0; i < n; i++) {
    let text = '';
    let prev = -1;
    let conf = 0;
    const peaks: number[] = [];
    for (let s = 0; s < t; s++) {
      const base = (i * t + s) * c;
      let k = 0;
      let best = data[base]!;
      for (let j = 1; j < c; j++) if (data[base + j]! > best) (best = data[base + j]!), (k = j);
      if (k !== blank && k !== prev) {
        text += alphabet[k] ?? '';
        if (!uncounted?.has(k)) (conf += best), peaks.push(best);
      } else if (k !== blank && !uncounted?.has(k)) peaks[peaks.length - 1] = Math.max(peaks[peaks.length - 1]!, best);
      prev = k;
    }
    const kept = peaks.length;
    out.push({ text, confidence: kept ? conf / kept : 0, least: kept ? Math.min(...peaks) : 0 });
  }
  return out;
}
