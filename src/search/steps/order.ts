// The order candidates are screened in: every family once before any family's second variant. A
// family is a chain's step names without their parameters, prep passes left out (fp32 session settings
// alone are one family): `quantize-static`, `clean-fp32 → quantize-static`, `prune-structured → recover`. Under a
// short time limit the space's own order (every variant of the first pass, then the next pass…) would
// spend the time on four dynamic-int8 variants of a Conv net and never reach static int8.

import { PREP_PASSES } from '../space.js';
import type { CandidateConfig } from '../types.js';

const PREP: readonly string[] = PREP_PASSES;

/** The family of a candidate: its step names without parameters or prep passes, or 'fp32' for session settings alone. */
export function familyOf(cfg: CandidateConfig): string {
  const steps = cfg.passes.map((p) => p.name).filter((n) => !PREP.includes(n));
  return steps.length ? steps.join(' → ') : 'fp32';
}

/** The ids in rounds: each family's first member in space order, then each family's second, and so on. */
export function breadthFirst(ids: readonly string[], cfgOf: (id: string) => CandidateConfig): string[] {
  const rank = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const id of ids) {
    const f = familyOf(cfgOf(id));
    const r = seen.get(f) ?? 0;
    seen.set(f, r + 1);
    rank.set(id, r);
  }
  // a stable sort on the rank keeps the space order within a round
  return [...ids].sort((a, b) => rank.get(a)! - rank.get(b)!);
}
