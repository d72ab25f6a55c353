// Row weights of per-frame distillation. A CTC head's teacher says blank on most frames (PaddleOCR rec on
// serials: 74%), and a damaged student first learns to say blank everywhere, the all-blank plateau where
// CER is exactly 1. Balanced, the frames whose teacher argmax is that background class weigh as much
// together as all other frames together.

import type { TeacherCache } from './recover.js';

function argmaxRow(v: Float32Array, at: number, C: number): number {
  let k = 0;
  for (let j = 1; j < C; j++) if (v[at + j]! > v[at + k]!) k = j;
  return k;
}

/** The class that is the teacher's argmax on most rows. */
export function backgroundClass(cache: TeacherCache): number {
  const counts = new Map<number, number>();
  for (let r = 0; r < cache.logits.length / cache.classes; r++) {
    const k = argmaxRow(cache.logits, r * cache.classes, cache.classes);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
}

/** Row weights summing to 1: uniform, or background rows and the others each half of the total. */
export function rowWeights(teacher: Float32Array, rows: number, C: number, background?: number): Float32Array {
  const w = new Float32Array(rows).fill(1 / rows);
  if (background === undefined) return w;
  const bg = Uint8Array.from({ length: rows }, (_, r) => +(argmaxRow(teacher, r * C, C) === background));
  const nb = bg.reduce((a, b) => a + b, 0);
  if (nb === 0 || nb === rows) return w;
  for (let r = 0; r < rows; r++) w[r] = bg[r] ? 0.5 / nb : 0.5 / (rows - nb);
  return w;
}
