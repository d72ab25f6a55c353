// Small vector helpers shared across folders (eval's agreement metric, the quantization passes'
// sensitivity analysis and ORT checks, training's accuracy, output decoding). Imports nothing.

/**
 * Cosine similarity of two equal-length vectors: 1 when both are all zero, 0 when exactly one is.
 * Sums are in float64.
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  if (na === 0 && nb === 0) return 1;
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Index (0-based, relative to `at`) of the largest of `len` values starting at `at`; the first on ties. */
export function argmax(a: ArrayLike<number>, at = 0, len = a.length - at): number {
  let best = 0;
  for (let j = 1; j < len; j++) if (a[at + j]! > a[at + best]!) best = j;
  return best;
}
