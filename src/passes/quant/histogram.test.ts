import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { StreamingHistogram } from './histogram.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

test('re-binning is exact: streaming in batches equals one pass over all values', () => {
  const r = rng(1);
  const all = Array.from({ length: 20000 }, () => gauss(r) * (r() < 0.01 ? 50 : 1));
  const a = new StreamingHistogram(256);
  for (let i = 0; i < all.length; i += 500) a.add(all.slice(i, i + 500));
  const b = new StreamingHistogram(256);
  // Same grid as a: start from the same first batch, then add the rest at once.
  b.add(all.slice(0, 500));
  b.add(all.slice(500));
  assert.equal(a.width, b.width);
  assert.deepEqual([...a.counts], [...b.counts]);
  assert.equal(a.counts.reduce((x, y) => x + y, 0), all.length);
  assert.ok(a.counts.length <= 256);
  assert.equal(a.min, Math.min(...all));
  assert.equal(a.max, Math.max(...all));
});

test('memory is fixed: bins never exceed maxBins however many samples stream in', () => {
  const r = rng(2);
  const h = new StreamingHistogram(512);
  for (let b = 0; b < 200; b++) h.add(Float32Array.from({ length: 1000 }, () => gauss(r) * (1 + b)));
  assert.ok(h.counts.length <= 512, `bins ${h.counts.length}`);
  assert.equal(h.total, 200_000);
});

test('uniform data: min-max ≈ the range, percentile and entropy close to it', () => {
  const r = rng(3);
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
  const r = rng(4);
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
  const r = rng(5);
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
  assert.equal(h.counts.reduce((a, b) => a + b, 0), 103);
});
