// Seeded random numbers shared by every folder (zoo weights, synthetic inputs, generated data, training
// initialisation, bootstraps, tests): the same seed gives the same sequence on every machine. Generated
// weights, data and benchmark inputs depend on these exact sequences: change nothing here.
// Imports nothing, so every folder may import it.

/** mulberry32: a small, fast 32-bit PRNG; uniform in [0, 1). The seed is taken modulo 2³². */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Standard normal samples (Box–Muller) from a uniform source, both of each pair used: a call draws two
 * uniforms and returns the cosine sample, the next call returns the sine sample without drawing.
 */
export function pairedNormal(u: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const a = Math.max(u(), 1e-12);
    const b = u();
    const r = Math.sqrt(-2 * Math.log(a));
    spare = r * Math.sin(2 * Math.PI * b);
    return r * Math.cos(2 * Math.PI * b);
  };
}
