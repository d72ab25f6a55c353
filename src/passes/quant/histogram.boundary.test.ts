// The streaming histogram bin by bin on small inputs worked out by hand (grid, merges, zeros, quantiles,
// coarsening, ranges), and the KL window against a direct O(bins × windows) evaluation of the divergence
// its comment defines, on many random histograms: the prefix-sum version must pick the same window.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { StreamingHistogram, klWindow } from './histogram.js';
import { mulberry32 } from '../../util/rng.js';

test('maxBins must be even and at least 16', () => {
  for (const bad of [15, 14, 17, 0]) assert.throws(() => new StreamingHistogram(bad), /^Error: maxBins must be even and ≥ 16$/, String(bad));
  assert.equal(new StreamingHistogram(16).maxBins, 16);
  assert.equal(new StreamingHistogram(18).maxBins, 18);
  assert.equal(new StreamingHistogram().maxBins, 8192);
});

test('the first batch sets the width (|max| over a quarter of the bins) and the grid around 0', () => {
  const h = new StreamingHistogram(16);
  h.add([1, -2]);
  assert.equal(h.width, 0.5);
  assert.equal(h.offset, -4);
  assert.deepEqual([...h.counts], [1, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([h.min, h.max, h.total, h.zeros], [-2, 1, 2, 0]);
  // Values on a bin edge go in the bin that starts there; zeros are counted.
  h.add([0, 0.5, -0.5]);
  assert.deepEqual([...h.counts], [1, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual([h.min, h.max, h.total, h.zeros], [-2, 1, 5, 1]);
});

test('zeros before the width is known wait in bin 0; an all-zero, empty or all-NaN batch changes no grid', () => {
  const h = new StreamingHistogram(16);
  h.add([]);
  h.add([NaN, NaN]);
  assert.equal(h.total, 0);
  h.add([0, 0]);
  assert.deepEqual([h.width, h.total, h.zeros, h.counts.length], [0, 2, 2, 0]);
  assert.equal(h.quantile(0.5), 0);
  assert.deepEqual(h.range('entropy'), [0, 0]);
  h.add([1]);
  assert.equal(h.width, 0.25);
  assert.equal(h.offset, 0);
  assert.deepEqual([...h.counts], [2, 0, 0, 0, 1]);
  assert.deepEqual([h.total, h.zeros, h.min, h.max], [3, 2, 0, 1]);
  assert.throws(() => h.add([1, Infinity]), /^Error: calibration data holds Inf or NaN values$/);
  assert.throws(() => h.add([-Infinity, 1]), /Inf or NaN/);
});

test('values beyond the grid double the width and merge pairs of bins exactly, on both sides of 0', () => {
  const p = new StreamingHistogram(16);
  p.add([4]);
  assert.equal(p.width, 1);
  assert.deepEqual([...p.counts], [0, 0, 0, 0, 1]);
  p.add([40]);
  assert.equal(p.width, 4);
  assert.equal(p.offset, 0);
  assert.deepEqual([...p.counts], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const n = new StreamingHistogram(16);
  n.add([-4]);
  assert.equal(n.offset, -4);
  assert.deepEqual([...n.counts], [1, 0, 0, 0, 0]);
  n.add([-40]);
  assert.equal(n.width, 4);
  assert.equal(n.offset, -10);
  assert.deepEqual([...n.counts], [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
  // exactly maxBins bins: no merge
  const e = new StreamingHistogram(16);
  e.add([4]);
  e.add([15]);
  assert.equal(e.width, 1);
  assert.equal(e.counts.length, 16);
  e.add([16]);
  assert.equal(e.width, 2);
  assert.equal(e.counts.length, 9);
});

test('quantiles: linear inside a bin, empty bins skipped, clamped to the data', () => {
  const h = new StreamingHistogram(16);
  h.add([1, 2, 3, 4]);
  assert.deepEqual([...h.counts], [0, 1, 1, 1, 1]);
  assert.equal(h.quantile(0), 1);
  assert.equal(h.quantile(0.1), 1.4);
  assert.equal(h.quantile(0.25), 2);
  assert.equal(h.quantile(0.5), 3);
  assert.equal(h.quantile(0.6), 3.4);
  assert.equal(h.quantile(1), 4);
  assert.equal(h.quantile(2), 4);
  const s = new StreamingHistogram(16);
  s.add([-4, -3, -2, -1, 1, 2, 3, 4]);
  assert.equal(s.quantile(0.25), -2);
  assert.equal(s.quantile(0.75), 3);
  assert.equal(new StreamingHistogram(16).quantile(0.5), 0);
});

test('coarsening merges pairs until the bins hold minPerBin on average, not counting the exact zeros', () => {
  const h = new StreamingHistogram(16);
  h.add([1, 2, 3, 4]);
  const same = h.coarsened(1);
  assert.deepEqual([[...same.counts], same.offset, same.width], [[0, 1, 1, 1, 1], 0, 1]);
  const c2 = h.coarsened(2);
  assert.deepEqual([[...c2.counts], c2.offset, c2.width], [[3, 1], 0, 4]);
  const c9 = h.coarsened(9);
  assert.deepEqual([[...c9.counts], c9.offset, c9.width], [[4], 0, 8]);
  const z = new StreamingHistogram(16);
  z.add([4, 0, 0, 0, 0]);
  assert.deepEqual([[...z.counts], z.zeros], [[4, 0, 0, 0, 1], 4]);
  const z1 = z.coarsened(1);
  assert.deepEqual([[...z1.counts], z1.width], [[4, 0, 0, 0, 1], 1]);
  const z2 = z.coarsened(2);
  assert.deepEqual([[...z2.counts], z2.width], [[5], 8]);
  // negative offsets merge with floor: grid −4..0 → −2..0 ([2, 1, 1]: 4 values over 3 bins, < 2 each) → −1..0
  const n = new StreamingHistogram(16);
  n.add([-3, -2, -1, 0.5]);
  assert.deepEqual([[...n.counts], n.offset, n.width], [[1, 1, 1, 0, 1], -4, 0.75]);
  const n2 = n.coarsened(2);
  assert.deepEqual([[...n2.counts], n2.offset, n2.width], [[3, 1], -1, 3]);
  const n1 = n.coarsened(1.3);
  assert.deepEqual([[...n1.counts], n1.offset, n1.width], [[2, 1, 1], -2, 1.5]);
  // the histogram itself is left as it was
  assert.deepEqual([...n.counts], [1, 1, 1, 0, 1]);
});

test('ranges always hold 0: min-max, percentile (tails split between the sides), entropy clamped to the data', () => {
  const h = new StreamingHistogram(16);
  h.add([1, 2, 3, 4]);
  assert.deepEqual(h.range('minmax'), [0, 4]);
  assert.deepEqual(h.range('percentile', { percentile: 50 }), [0, 3]);
  assert.deepEqual(h.range('entropy'), [0, 4]);
  const neg = new StreamingHistogram(16);
  neg.add([-3, -1]);
  assert.deepEqual(neg.range('minmax'), [-3, 0]);
  const s = new StreamingHistogram(16);
  s.add([-4, -3, -2, -1, 1, 2, 3, 4]);
  assert.deepEqual(s.range('percentile', { percentile: 50 }), [-2, 3]);
  assert.deepEqual(new StreamingHistogram(16).range('minmax'), [0, 0]);
  // default percentile 99.99: one outlier in 20001 values is clipped
  const r = mulberry32(8);
  const o = new StreamingHistogram();
  o.add(Array.from({ length: 20000 }, () => r()));
  o.add([100]);
  const [, hi] = o.range('percentile');
  assert.ok(hi > 0.99 && hi < 1.01, `default percentile hi ${hi}`);
  assert.deepEqual(o.range('percentile'), o.range('percentile', { percentile: 99.99 }));
  // entropy with the histogram's own levels and bins: the window the KL search picks, times the width
  const e = new StreamingHistogram(16);
  e.add([-4, -3, -2, -1, 1, 2, 3, 4, 0.5, 0.5, 0.5, 0.5]);
  const { counts, offset, width } = e.coarsened(1);
  const [a, b] = bruteWindow(counts, offset, 2, e.zeros);
  assert.deepEqual(e.range('entropy', { levels: 2, minPerBin: 1 }), [Math.min(0, Math.max(e.min, a * width)), Math.max(0, Math.min(e.max, b * width))]);
});

test('klWindow: trivial histograms keep their whole range', () => {
  assert.deepEqual(klWindow(new Float64Array([0, 0, 0]), -1, 4), [0, 0]);
  assert.deepEqual(klWindow(new Float64Array([0, 5, 0]), -1, 4), [0, 1]);
  assert.deepEqual(klWindow(new Float64Array([0, 1, 2, 3, 0]), -2, 3), [-1, 2]);
  assert.deepEqual(klWindow(new Float64Array([1, 0, 0, 1]), 3, 4), [3, 7]);
});

test('klWindow picks the window of least divergence, the same as a direct evaluation, on 300 random histograms', () => {
  const r = mulberry32(17);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  let clipped = 0;
  for (let t = 0; t < 300; t++) {
    const len = int(5, 14);
    const offset = int(-10, 2);
    const counts = new Float64Array(len);
    for (let k = 0; k < len; k++) counts[k] = r() < 0.25 ? 0 : int(1, 30);
    // a heavy body and thin tails, often
    if (r() < 0.5) for (let k = 1; k < len - 1; k++) counts[k]! *= 5;
    let zeros = 0;
    if (offset <= 0 && -offset < len && r() < 0.5) {
      counts[-offset]! += 40;
      zeros = int(1, counts[-offset]!);
    }
    const levels = int(2, 4);
    const got = klWindow(counts, offset, levels, zeros);
    const want = bruteWindow(counts, offset, levels, zeros);
    const kls = bruteKls(counts, offset, levels, zeros);
    const key = (w: [number, number]) => `${w[0]},${w[1]}`;
    if (kls.size > 0) {
      const best = Math.min(...kls.values());
      const at = kls.get(key(got));
      assert.ok(
        at !== undefined && at <= best + 1e-9,
        `case ${t}: ${key(got)} (KL ${at}) vs best ${key(want)} (KL ${best}); counts ${[...counts]} offset ${offset} levels ${levels} zeros ${zeros}`,
      );
      const second = Math.min(...[...kls.entries()].filter(([k]) => k !== key(want)).map(([, v]) => v));
      if (second > best + 1e-9) assert.deepEqual(got, want, `case ${t}`);
      if (key(want) !== key(fullWindow(counts, offset))) clipped++;
    } else assert.deepEqual(got, want, `case ${t}`);
  }
  assert.ok(clipped > 30, `only ${clipped} cases clip: the test needs more`);
});

function fullWindow(counts: Float64Array, offset: number): [number, number] {
  let first = Infinity;
  let last = -Infinity;
  counts.forEach((c, k) => {
    if (c > 0) {
      first = Math.min(first, offset + k);
      last = Math.max(last, offset + k);
    }
  });
  return first > last ? [0, 0] : [first, last + 1];
}

/**
 * KL(P‖Q) of every candidate window, straight from the definition in klWindow's comment: P the window's
 * bins with the outliers folded into its end bins; Q the unfolded window merged into `levels` groups
 * and spread evenly over the bins where P is non-zero (exact zeros kept in bin 0); P where Q is 0 costed
 * at log(1e6). Keys are "a,b+1".
 */
function bruteKls(counts: Float64Array, offset: number, levels: number, zeros: number): Map<string, number> {
  const out = new Map<string, number>();
  const [first, end] = fullWindow(counts, offset);
  const last = end - 1;
  if (first > last || last - first + 1 <= levels) return out;
  const h = (j: number) => counts[j - offset] ?? 0;
  let T = 0;
  for (let j = first; j <= last; j++) T += h(j);
  for (let i = Math.max(last + 1, -first); i >= 1; i--) {
    const a = Math.max(first, -i);
    const b = Math.min(last, i - 1);
    const n = b - a + 1;
    if (n < levels) break;
    const P = new Map<number, number>();
    const Q = new Map<number, number>();
    let qT = 0;
    for (let j = a; j <= b; j++) {
      P.set(j, h(j));
      qT += h(j);
    }
    for (let j = first; j < a; j++) P.set(a, P.get(a)! + h(j));
    for (let j = b + 1; j <= last; j++) P.set(b, P.get(b)! + h(j));
    for (let g = 0; g < levels; g++) {
      const s = a + Math.floor((g * n) / levels);
      const e = a + Math.floor(((g + 1) * n) / levels) - 1;
      let mass = 0;
      let nonZero = 0;
      for (let j = s; j <= e; j++) {
        mass += h(j);
        if (P.get(j)! > 0) nonZero++;
      }
      for (let j = s; j <= e; j++) Q.set(j, 0);
      if (zeros > 0 && s <= 0 && 0 <= e) {
        const p0 = P.get(0)!;
        const restBins = nonZero - 1 + (p0 > zeros ? 1 : 0);
        const share = restBins > 0 && mass - zeros > 0 ? (mass - zeros) / restBins : 0;
        for (let j = s; j <= e; j++) if (P.get(j)! > 0) Q.set(j, j === 0 ? zeros + (p0 > zeros ? share : 0) : share);
      } else for (let j = s; j <= e; j++) if (P.get(j)! > 0) Q.set(j, mass / nonZero);
    }
    let kl = 0;
    for (let j = a; j <= b; j++) {
      const p = P.get(j)! / T;
      if (p === 0) continue;
      const q = Q.get(j)! / qT;
      kl += q > 0 ? p * Math.log(p / q) : p * (Math.log(p) + Math.log(1e6) - Math.log(1 / qT));
    }
    out.set(`${a},${b + 1}`, kl);
  }
  return out;
}

/** The least-divergence window (the wider on ties), or the whole range when no window is tried. */
function bruteWindow(counts: Float64Array, offset: number, levels: number, zeros: number): [number, number] {
  const kls = bruteKls(counts, offset, levels, zeros);
  let best = fullWindow(counts, offset);
  let bestKl = Infinity;
  for (const [k, v] of kls) {
    if (v < bestKl - 1e-12) {
      bestKl = v;
      best = k.split(',').map(Number) as [number, number];
    }
  }
  return best;
}
