// Seeded randomness for training (initialisation, shuffling): mulberry32 and Box–Muller normals
// from src/util/rng.ts.

import { mulberry32, pairedNormal } from '../util/rng.js';

export class Rng {
  private readonly u: () => number;
  private readonly gauss: () => number;
  constructor(seed: number) {
    // The training streams are mulberry32 seeded with seed ^ golden ratio (not the zoo's stream).
    this.u = mulberry32((seed >>> 0) ^ 0x9e3779b9);
    this.gauss = pairedNormal(this.u);
  }
  next(): number {
    return this.u();
  }
  /** Standard normal; both samples of each Box–Muller pair are used. */
  normal(): number {
    return this.gauss();
  }
  /** A permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}
