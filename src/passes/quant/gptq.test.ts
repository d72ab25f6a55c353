import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { normal, randn, rng } from '../../zoo/rng.js';
import { quantizeBlocksRtn } from './block.js';
import { HessianAccumulator, gptqFactor, quantizeBlocksGptq } from './gptq.js';

test('HessianAccumulator: rows added one by one equal a Gram matrix added at once', () => {
  const k = 5;
  const x = randn(7 * k, 1, normal(rng(1)));
  const a = new HessianAccumulator(k);
  a.add(x);
  const gram = new Float64Array(k * k);
  for (let r = 0; r < 7; r++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) gram[i * k + j]! += x[r * k + i]! * x[r * k + j]!;
  const b = new HessianAccumulator(k);
  b.addGram(gram, 7);
  const [ha, hb] = [a.hessian(), b.hessian()];
  for (let i = 0; i < k * k; i++) assert.ok(Math.abs(ha[i]! - hb[i]!) < 1e-9);
  assert.equal(a.rows, 7);
});

test('GPTQ with an isotropic Hessian has nothing to trade off and equals round-to-nearest', () => {
  const n = 4;
  const k = 64;
  const w = randn(n * k, 0.1, normal(rng(2)));
  const h = new Float64Array(k * k);
  for (let i = 0; i < k; i++) h[i * k + i] = 2;
  for (const symmetric of [true, false]) {
    const g = quantizeBlocksGptq(w, n, k, h, { blockSize: 32, symmetric });
    const r = quantizeBlocksRtn(w, n, k, 32, symmetric);
    assert.deepEqual([...g.codes], [...r.codes]);
    assert.deepEqual([...g.scales], [...r.scales]);
  }
});

test('gptqFactor: U is upper triangular and UᵀU is the inverse of the (dampened) Hessian', () => {
  const k = 9;
  const a = randn(12 * k, 1, normal(rng(4)));
  const acc = new HessianAccumulator(k);
  acc.add(a);
  const h = acc.hessian();
  const { u } = gptqFactor(h, k, 0);
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) assert.equal(u[i * k + j], 0);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      // (UᵀU · H)[i][j]
      let s = 0;
      for (let p = 0; p < k; p++) {
        let uu = 0;
        for (let q = 0; q < k; q++) uu += u[q * k + i]! * u[q * k + p]!;
        s += uu * h[p * k + j]!;
      }
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-8, `(${i},${j}) = ${s}`);
    }
});

test('HQQ decodes constant blocks exactly and keeps zero points integral by default', async () => {
  const { quantizeBlocksHqq } = await import('./hqq.js');
  const { dequantizeBlocks } = await import('./block.js');
  const w = new Float32Array(3 * 16);
  w.fill(-0.5, 0, 16);
  w.fill(0, 16, 32);
  w.fill(0.75, 32, 48);
  const q = quantizeBlocksHqq(w, 3, 16, { blockSize: 16 });
  assert.equal(q.floatZeroPoints, undefined);
  const back = dequantizeBlocks(q);
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(back[i]! - w[i]!) < 1e-6, `element ${i}: ${back[i]} vs ${w[i]}`);
});
