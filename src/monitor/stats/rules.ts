// Western Electric run rules over a series of z-scores, and the rule sets one can choose, each with
// its in-control false-alarm rate per point. The rates are measured here by simulating in-control
// normal points with a fixed seed (literature: rule 1 alone ARL 370; all four about 92).

import { mulberry32, pairedNormal } from '../../util/rng.js';

export type Rule = 'WE1' | 'WE2' | 'WE3' | 'WE4';

export const RULE_TEXT: Record<Rule, string> = {
  WE1: 'one point beyond 3σ',
  WE2: '2 of 3 points beyond 2σ on one side',
  WE3: '4 of 5 points beyond 1σ on one side',
  WE4: '8 points in a row on one side of the centre',
};

/** The rule sets, from fewest false alarms to most sensitive. */
export const RULE_SETS: Record<string, Rule[]> = {
  we1: ['WE1'],
  'we1-2': ['WE1', 'WE2'],
  'we1-3': ['WE1', 'WE2', 'WE3'],
  we: ['WE1', 'WE2', 'WE3', 'WE4'],
};

function countSide(z: readonly number[], i: number, len: number, thr: number, sign: number): number {
  let c = 0;
  for (let j = i - len + 1; j <= i; j++) if (sign * z[j]! > thr) c++;
  return c;
}

/** The first rule of `rules` that fires at point i, looking back no further than `from`, or undefined. */
export function ruleAt(z: readonly number[], i: number, rules: readonly Rule[], from = 0): { rule: Rule; side: 1 | -1 } | undefined {
  const zi = z[i]!;
  const side: 1 | -1 = zi >= 0 ? 1 : -1;
  const seen = i - from + 1;
  for (const r of rules) {
    if (r === 'WE1' && Math.abs(zi) > 3) return { rule: r, side };
    if (r === 'WE2' && side * zi > 2 && seen >= 3 && countSide(z, i, 3, 2, side) >= 2) return { rule: r, side };
    if (r === 'WE3' && side * zi > 1 && seen >= 5 && countSide(z, i, 5, 1, side) >= 4) return { rule: r, side };
    if (r === 'WE4' && seen >= 8 && countSide(z, i, 8, 0, side) === 8) return { rule: r, side };
  }
  return undefined;
}

/**
 * Every point where a rule fires. After an alarm the chart restarts (the run rules look back only to
 * the point after it), as when an operator acknowledges an alarm: one run is one alarm, not eight.
 */
export function runRules(z: readonly number[], rules: readonly Rule[]): { index: number; rule: Rule; side: 1 | -1 }[] {
  const out: { index: number; rule: Rule; side: 1 | -1 }[] = [];
  let from = 0;
  for (let i = 0; i < z.length; i++) {
    const hit = ruleAt(z, i, rules, from);
    if (hit) {
      out.push({ index: i, ...hit });
      from = i + 1;
    }
  }
  return out;
}

const rateCache = new Map<string, number>();

/** In-control false alarms per point (1/ARL) of a rule set, from 400,000 simulated N(0,1) points (seed 1). */
export function inControlRate(set: string): number {
  const cached = rateCache.get(set);
  if (cached !== undefined) return cached;
  const rules = RULE_SETS[set];
  if (!rules) throw new Error(`unknown rule set ${set}`);
  const z = pairedNormal(mulberry32(1));
  const n = 400_000;
  const pts = Array.from({ length: n }, () => z());
  const rate = runRules(pts, rules).length / n;
  rateCache.set(set, rate);
  return rate;
}

/** The most sensitive rule set whose per-point false-alarm rate is at most `target`. */
export function chooseRuleSet(target: number): { set: string; rules: Rule[]; rate: number } {
  let best: { set: string; rules: Rule[]; rate: number } | undefined;
  for (const [set, rules] of Object.entries(RULE_SETS)) {
    const rate = inControlRate(set);
    if (rate <= target && (!best || rate > best.rate)) best = { set, rules, rate };
  }
  return best ?? { set: 'we1', rules: RULE_SETS.we1!, rate: inControlRate('we1') };
}
