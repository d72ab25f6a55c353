import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { StreamingHistogram, klWindow } from './histogram.js';
import { mulberry32 } from '../../util/rng.js';

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

test('re-binning is exact: streaming in batches equals one pass over all values', () => {
  const r = mulberry32(1);
  const all = Array.from({ length: 20000 }, () => gauss(r) * (r() < 0.01 ? 50 : 1));
  const a = new StreamingHistogram(256);
  for (let i = 0; i < all.length; i += 500) a.add(all.slice(i, i + 500));
  const b = new StreamingHistogram(256);
  // Same grid as a: start from the same first batch, then add the rest at once.
  b.add(all.slice(0, 500));
  b.add(all.slice(500));
  assert.equal(a.width, b.width);
  assert.deepEqual([...a.counts], [...b.counts]);
  assert.equal(
    a.counts.reduce((x, y) => x + y, 0),
    all.length,
  );
  assert.ok(a.counts.length <= 256);
  assert.equal(a.min, Math.min(...all));
  assert.equal(a.max, Math.max(...all));
});

test('memory is fixed: bins never exceed maxBins however many samples stream in', () => {
  const r = mulberry32(2);
  const h = new StreamingHistogram(512);
  for (let b = 0; b < 200; b++) h.add(Float32Array.from({ length: 1000 }, () => gauss(r) * (1 + b)));
  assert.ok(h.counts.length <= 512, `bins ${h.counts.length}`);
  assert.equal(h.total, 200_000);
});

test('uniform data: min-max ≈ the range, percentile and entropy close to it', () => {
  const r = mulberry32(3);
  const h = new StreamingHistogram();
  for (let b = 0; b < 20; b++) h.add(Float32Array.from({ length: 5000 }, () => -2 + 6 * r()));
  const [lo, hi] = h.range('minmax');
  assert.ok(Math.abs(lo + 2) < 0.01 && Math.abs(hi - 4) < 0.01, `minmax ${lo} ${hi}`);
  const [plo, phi] = h.range('percentile', { percentile: 99.9 });
  assert.ok(Math.abs(plo + 2) < 0.05 && Math.abs(phi - 4) < 0.05, `percentile ${plo} ${phi}`);
  const [, ehi] = h.range('entropy');
  assert.ok(ehi > 3.5, `entropy hi ${ehi}: nothing to clip on uniform data`);
});

test('Gaussian with rare outliers: percentile and entropy clip well below the max', () => {
  const r = mulberry32(4);
  const h = new StreamingHistogram();
  for (let b = 0; b < 20; b++) {
    const x = Float32Array.from({ length: 5000 }, () => gauss(r));
    x[0] = 40 * (r() < 0.5 ? -1 : 1); // one huge outlier per batch
    h.add(x);
  }
  const [lo, hi] = h.range('minmax');
  assert.ok(hi >= 39 || lo <= -39);
  const [plo, phi] = h.range('percentile', { percentile: 99.9 });
  assert.ok(phi > 2.5 && phi < 4.5 && plo < -2.5 && plo > -4.5, `percentile ${plo} ${phi}`);
  const [elo, ehi] = h.range('entropy');
  assert.ok(ehi < 20 && ehi > 2 && elo > -20 && elo < -2, `entropy ${elo} ${ehi}`);
});

test('one-sided (post-Relu) data keeps 0 as the low end', () => {
  const r = mulberry32(5);
  const h = new StreamingHistogram();
  h.add(Float32Array.from({ length: 20000 }, () => Math.max(0, gauss(r))));
  for (const m of ['minmax', 'percentile', 'entropy'] as const) {
    const [lo, hi] = h.range(m);
    assert.equal(lo, 0, m);
    assert.ok(hi > 2 && hi <= h.max, `${m} ${hi}`);
  }
});

test('all-zero tensors give a zero range', () => {
  const h = new StreamingHistogram();
  h.add(new Float32Array(100));
  assert.deepEqual(h.range('entropy'), [0, 0]);
  h.add(Float32Array.from([0, 1, 2]));
  assert.equal(
    h.counts.reduce((a, b) => a + b, 0),
    103,
  );
});

/** KL(P‖Q) of one window, computed the slow way (TensorRT's loop), to check klWindow's prefix sums. */
function klDirect(counts: Float64Array, offset: number, levels: number, zeros: number, i: number): number {
  const first = offset;
  const last = offset + counts.length - 1;
  const a = Math.max(first, -i);
  const b = Math.min(last, i - 1);
  const n = b - a + 1;
  const P = Float64Array.from({ length: n }, (_, k) => counts[a + k - offset]!);
  for (let j = first; j < a; j++) P[0]! += counts[j - offset]!;
  for (let j = b + 1; j <= last; j++) P[n - 1]! += counts[j - offset]!;
  const Q = new Float64Array(n);
  for (let g = 0; g < levels; g++) {
    const s = Math.floor((g * n) / levels);
    const e = Math.floor(((g + 1) * n) / levels);
    let mass = 0;
    let nonZero = 0;
    for (let k = s; k < e; k++) {
      const exact = a + k === 0 ? zeros : 0; // exact zeros stay where they are
      mass += counts[a + k - offset]! - exact;
      if (P[k]! - exact > 0) nonZero++;
      Q[k]! += exact;
    }
    for (let k = s; k < e; k++) if (P[k]! - (a + k === 0 ? zeros : 0) > 0) Q[k]! += mass / nonZero;
  }
  const ps = P.reduce((x, y) => x + y, 0);
  const qs = Q.reduce((x, y) => x + y, 0);
  let kl = 0;
  for (let k = 0; k < n; k++) if (P[k]! > 0) kl += (P[k]! / ps) * Math.log(P[k]! / ps / (Q[k]! > 0 ? Q[k]! / qs : 1e-6));
  return kl;
}

test('klWindow picks the window a direct KL(P‖Q) loop picks (outliers folded, exact zeros kept)', () => {
  const r = mulberry32(6);
  for (const [offset, len, levels, zeros] of [
    [-300, 700, 64, 0],
    [0, 900, 128, 500],
    [-50, 400, 32, 40],
  ] as const) {
    const counts = Float64Array.from({ length: len }, (_, k) => {
      const j = Math.abs(offset + k);
      return Math.round(2000 * Math.exp(-j / 60) * r() + (r() < 0.01 ? 3 : 0));
    });
    if (offset <= 0) counts[-offset]! += zeros;
    let best = Infinity;
    let bestWin: [number, number] = [offset, offset + len];
    for (let i = Math.max(offset + len, -offset); i >= 1; i--) {
      const a = Math.max(offset, -i);
      const b = Math.min(offset + len - 1, i - 1);
      if (b - a + 1 < levels) break;
      const kl = klDirect(counts, offset, levels, zeros, i);
      if (kl < best - 1e-12) {
        best = kl;
        bestWin = [a, b + 1];
      }
    }
    // Trim empty edge bins the same way klWindow does before comparing.
    assert.deepEqual(klWindow(counts, offset, levels, zeros), bestWin, `offset ${offset} levels ${levels}`);
  }
});

test('entropy on known distributions with plenty of data: Gaussian ≈ 3.5–5.5σ, Laplace clips its long tail', () => {
  const r = mulberry32(7);
  const g = new StreamingHistogram();
  const l = new StreamingHistogram();
  for (let b = 0; b < 20; b++) {
    g.add(Float32Array.from({ length: 50_000 }, () => gauss(r)));
    l.add(Float32Array.from({ length: 50_000 }, () => (r() < 0.5 ? 1 : -1) * Math.log(1 / (1 - r()))));
  }
  const [glo, ghi] = g.range('entropy');
  assert.ok(ghi >= 3.5 && ghi <= 5.5 && glo <= -3.5 && glo >= -5.5, `gaussian ${glo} ${ghi}`);
  const [llo, lhi] = l.range('entropy');
  assert.ok(lhi < 0.95 * l.max && llo > 0.95 * l.min && lhi > 7, `laplace ${llo} ${lhi} of ${l.min} ${l.max}`);
});

test('a Relu spike at 0 does not drag the KL threshold down (exact zeros cost no quantization error)', () => {
  const r = mulberry32(8);
  const h = new StreamingHistogram();
  for (let b = 0; b < 10; b++) h.add(Float32Array.from({ length: 50_000 }, () => Math.max(0, gauss(r))));
  assert.ok(h.zeros > 200_000);
  const [, hi] = h.range('entropy');
  assert.ok(hi > 3.5, `relu hi ${hi}: the half of the values that are exactly 0 must not pull the threshold in`);
});

test('one-sided asymmetric data (HardSwish: min −0.375) gets the resolution of its real uint8 grid', () => {
  // The same positive values with and without a small negative dip: the dip must not halve the levels.
  const r = mulberry32(9);
  const relu = new StreamingHistogram();
  const hswish = new StreamingHistogram();
  for (let b = 0; b < 10; b++) {
    const x = Float32Array.from({ length: 50_000 }, () => 4 * gauss(r));
    relu.add(x.map((v) => Math.max(0, v)));
    hswish.add(x.map((v) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6));
  }
  const [, rhi] = relu.range('entropy');
  const [hlo, hhi] = hswish.range('entropy');
  assert.ok(Math.abs(hlo + 0.375) < 0.01, `keeps the negative dip: ${hlo}`);
  assert.ok(hhi > 0.8 * rhi, `hswish hi ${hhi} vs relu hi ${rhi}`);
});

test('few values: the KL search does not clip on sampling noise; the same distribution with many values does', () => {
  const r = mulberry32(10);
  const few = new StreamingHistogram();
  few.add(Float32Array.from({ length: 2000 }, () => (r() < 0.5 ? 1 : -1) * Math.log(1 / (1 - r()))));
  const [flo, fhi] = few.range('entropy');
  assert.equal(flo, few.min);
  assert.equal(fhi, few.max);
  // Without the coarsening (one value per bin is enough), the same histogram clips hard.
  const [, rawHi] = few.range('entropy', { minPerBin: 1 });
  assert.ok(rawHi < 0.8 * few.max, `uncoarsened ${rawHi} of ${few.max}`);
});

test('resolution: after growth the larger side keeps at least maxBins/4 bins', () => {
  const r = mulberry32(11);
  const h = new StreamingHistogram(1024);
  h.add(Float32Array.from({ length: 100 }, () => 0.01 * gauss(r)));
  for (let b = 0; b < 30; b++) h.add(Float32Array.from({ length: 1000 }, () => (1 + b) * gauss(r)));
  const bins = Math.max(h.max, -h.min) / h.width;
  assert.ok(bins >= 256 && h.counts.length <= 1024, `bins across the larger side ${bins}`);
});

test('entropy on fewer values than minPerBin, on both sides of zero, ends and keeps the full range (it looped for ever)', () => {
  const h = new StreamingHistogram(8192);
  const r = mulberry32(3);
  const v = Float32Array.from({ length: 30 }, () => 2.2 * r() - 1.2);
  v[0] = -1.2136;
  v[1] = 1.0454;
  h.add(v);
  const [lo, hi] = h.range('entropy');
  assert.ok(lo <= -1.2136 + 1e-6 && lo >= -1.2136 - 0.5, `lo ${lo}`);
  assert.ok(hi >= 1.0454 - 1e-6 && hi <= 1.0454 + 0.5, `hi ${hi}`);
});
