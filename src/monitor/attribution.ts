// Which slice a rise in defects belongs to. Batches run across machines, so one bad batch lifts every
// machine it ran on, and one degrading machine lifts every batch it touched. So: test every slice
// (machine, batch, line, material) against the rest over the same stretch of time, keep those that
// pass Benjamini–Hochberg, blame the strongest, take all its events out, and test again on what remains.
// A bad batch then explains its machines' rise, and they are not blamed; and the other way round.

import { DIMS, groupCells, type Dim } from './charts.js';
import type { Cell } from './query.js';
import { changePoint } from './stats/change-point.js';
import { cusumUpper } from './stats/ewma-cusum.js';
import { binomialZ } from './stats/p-chart.js';
import { benjaminiHochberg, twoProportionZ } from './stats/tests.js';

export interface Attribution {
  dim: Dim;
  value: string;
  /** First bucket of the change (likelihood-ratio change point up to the CUSUM alarm). */
  startBucket: number;
  lastBucket: number;
  z: number;
  p: number;
  /** Defect rate of the slice and of the rest over the same buckets. */
  rate: number;
  restRate: number;
  n: number;
  round: number;
}

export interface AttributionOptions {
  firstMonitorBucket: number;
  /** False-discovery rate for Benjamini–Hochberg across slices, per round (default 0.01). */
  q?: number;
  maxRounds?: number;
}

interface Candidate {
  dim: Dim;
  value: string;
  start: number;
  last: number;
  z: number;
  p: number;
  rate: number;
  restRate: number;
  n: number;
}

function candidates(cells: readonly Cell[], center: number): Candidate[] {
  const out: Candidate[] = [];
  for (const dim of DIMS) {
    for (const [value, byBucket] of groupCells(cells, dim)) {
      const buckets = [...byBucket.keys()].sort((a, b) => a - b);
      const zs = buckets.map((b) => binomialZ(byBucket.get(b)!.k, byBucket.get(b)!.n, center));
      // Upper side only: a chance low stretch must not hide a later rise.
      const c = cusumUpper(zs);
      const upward = c.alarm >= 0;
      // CUSUM decides whether it rose; the likelihood-ratio change point (on the data up to the alarm, as
      // an operator would have had it) says from when.
      const upto = buckets.slice(0, c.alarm + 1);
      const cp = upward
        ? changePoint(
            upto.map((b) => byBucket.get(b)!.k),
            upto.map((b) => byBucket.get(b)!.n),
            center,
          )
        : -1;
      const start = upward ? buckets[cp >= 0 ? cp : c.start]! : buckets[0]!;
      const last = buckets[buckets.length - 1]!;
      let k1 = 0,
        n1 = 0,
        k2 = 0,
        n2 = 0; // prettier-ignore
      for (const x of cells) {
        if (x.bucket < start || x.bucket > last) continue;
        if (x[dim] === value) (k1 += x.k), (n1 += x.n);
        else (k2 += x.k), (n2 += x.n);
      }
      const t = twoProportionZ(k1, n1, k2, n2);
      // A slice whose chart never rose is still counted in the family (p = 1), so BH sees every test.
      // The start was chosen from the data among `upto.length` buckets: Bonferroni for that choice,
      // or a chance high stretch on a clean slice would pass as a finding.
      const p = upward ? Math.min(1, t.p * upto.length) : 1;
      out.push({ dim, value, start, last, z: upward ? t.z : 0, p, rate: n1 ? k1 / n1 : 0, restRate: n2 ? k2 / n2 : 0, n: n1 });
    }
  }
  return out;
}

function testWithout(c: Candidate, cells: readonly Cell[], drop: Candidate): number {
  let k1 = 0,
    n1 = 0,
    k2 = 0,
    n2 = 0; // prettier-ignore
  for (const x of cells) {
    if (x.bucket < c.start || x.bucket > c.last || x[drop.dim] === drop.value) continue;
    if (x[c.dim] === c.value) (k1 += x.k), (n1 += x.n);
    else (k2 += x.k), (n2 += x.n);
  }
  return twoProportionZ(k1, n1, k2, n2).p;
}

/** Share of a's events (over its window) that also belong to b. */
function insideShare(a: Candidate, b: Candidate, cells: readonly Cell[]): number {
  let all = 0;
  let both = 0;
  for (const x of cells) {
    if (x[a.dim] !== a.value || x.bucket < a.start || x.bucket > a.last) continue;
    all += x.n;
    if (x[b.dim] === b.value) both += x.n;
  }
  return all ? both / all : 0;
}

/**
 * The strongest slice may be a coarse one (a line, a material) whose rise is all one machine or one
 * batch inside it: the line's test pools more events, so its z can beat the machine's. Prefer a
 * passing slice nested in it (≥ 90% of its events inside) without which the coarse one is no longer
 * significant. Machines and batches are not nested in each other, so this never trades one for the other.
 */
function narrowest(passing: Candidate[], cells: readonly Cell[], q: number): Candidate {
  let best = passing[0]!;
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of passing) {
      if (c === best || c.n >= best.n || insideShare(c, best, cells) < 0.9) continue;
      if (testWithout(best, cells, c) >= q) {
        best = c;
        changed = true;
        break;
      }
    }
  }
  return best;
}

/** The slices to blame, strongest first, each tested on the events the earlier ones do not explain. */
export function attribute(allCells: readonly Cell[], o: AttributionOptions): Attribution[] {
  const ref = allCells.filter((c) => c.bucket < o.firstMonitorBucket);
  const refN = ref.reduce((s, c) => s + c.n, 0);
  const center = refN ? ref.reduce((s, c) => s + c.k, 0) / refN : 0;
  let cells = allCells.filter((c) => c.bucket >= o.firstMonitorBucket);
  const out: Attribution[] = [];
  for (let round = 1; round <= (o.maxRounds ?? 6) && cells.length; round++) {
    const cands = candidates(cells, center);
    if (!cands.length) break;
    const pass = benjaminiHochberg(
      cands.map((c) => c.p),
      o.q ?? 0.01,
    );
    const passing = cands.filter((_, i) => pass[i]).sort((a, b) => b.z - a.z);
    if (!passing.length) break;
    const best = narrowest(passing, cells, o.q ?? 0.01);
    out.push({
      dim: best.dim,
      value: best.value,
      startBucket: best.start,
      lastBucket: best.last,
      z: best.z,
      p: best.p,
      rate: best.rate,
      restRate: best.restRate,
      n: best.n,
      round,
    });
    // The blamed slice leaves the data altogether: what remains is tested without it.
    cells = cells.filter((c) => c[best.dim] !== best.value);
  }
  return out;
}
