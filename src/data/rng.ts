// Seeded randomness for generators, splits and bootstraps: the same seed gives the same data on every
// machine. mulberry32 (src/util/rng.ts) for streams; a string hash to derive independent per-item seeds.

import { mulberry32 } from '../util/rng.js';

/** A 32-bit FNV-1a hash of a string, mixed with a seed. */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix) so that nearby strings land far apart
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export class Rng {
  private readonly u: () => number;
  constructor(seed: number) {
    this.u = mulberry32(seed);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u();
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  range(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

export type Split = 'train' | 'val' | 'test' | 'all';

export interface SplitFractions {
  train: number;
  val: number;
  test: number;
}

export const DEFAULT_SPLIT: SplitFractions = { train: 0.8, val: 0.1, test: 0.1 };

/**
 * The split an item belongs to, from a hash of its id and the seed. It depends on nothing else, so a
 * streamed folder splits the same way whatever order the files are listed in.
 */
export function splitOf(id: string, seed: number, f: SplitFractions = DEFAULT_SPLIT): Exclude<Split, 'all'> {
  const u = hash32(id, seed ^ 0x5eed) / 4294967296;
  const total = f.train + f.val + f.test;
  if (u < f.train / total) return 'train';
  if (u < (f.train + f.val) / total) return 'val';
  return 'test';
}
