// Seeded random numbers for the zoo: the same seed gives the same weights on every machine.

// One implementation for the whole tree: src/util/rng.ts. The zoo's names stay for its callers.
export { mulberry32 as rng, pairedNormal as normal } from '../util/rng.js';

/** n values ~ N(0, std²). */
export function randn(n: number, std: number, gauss: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = gauss() * std;
  return out;
}
