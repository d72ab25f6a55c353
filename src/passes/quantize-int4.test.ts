import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DataType } from '../onnx/dtype.js';
import { Tensor } from '../onnx/tensor.js';
import { mlp, normal, rng } from '../zoo/index.js';
import type { Feeds } from './pass.js';
import { quantizeInt4 } from './quantize-int4.js';
import { dequantizeBlocks, packMatMulNBits, quantizeBlocksRtn } from './quant/block.js';
import { unpackBits } from './quant/pack.js';
import { cosine, optimizedOpCounts, relL2, runModel } from './quant/ort-check.js';

// Inputs on a low-dimensional subspace with uneven feature scales: the case GPTQ is built for.
function structuredBatch(seed: number, rows: number, dim: number): Float32Array {
  const g = normal(rng(seed));
  const basisG = normal(rng(99));
  const rank = 8;
  const basis = Float32Array.from({ length: rank * dim }, () => basisG());
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: rank }, () => g());
    for (let j = 0; j < dim; j++) {
      let v = 0.05 * g();
      for (let p = 0; p < rank; p++) v += z[p]! * basis[p * dim + j]!;
      out[r * dim + j] = v * (1 + (j % 7));
    }
  }
  return out;
}

test('block quantization packs codes low-nibble-first and decodes within half a step', () => {
  const k = 40;
  const n = 3;
  const wT = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 5)));
  for (const symmetric of [true, false]) {
    const q = quantizeBlocksRtn(wT, n, k, 16, symmetric);
    assert.equal(q.nBlocks, 3);
    const p = packMatMulNBits(q);
    assert.deepEqual(p.bDims, [3, 3, 8]);
    assert.deepEqual([...unpackBits(p.b, 4, q.codes.length)], [...q.codes]);
    assert.equal(p.zeroPoints === undefined, symmetric);
    if (p.zeroPoints) assert.equal(p.zeroPoints.length, n * 2);
    const deq = dequantizeBlocks(q);
    for (let i = 0; i < wT.length; i++) {
      const s = Math.abs(q.scales[Math.floor(i / k) * 3 + Math.floor((i % k) / 16)]!);
      assert.ok(Math.abs(deq[i]! - wT[i]!) <= s / 2 + 1e-6 || Math.abs(deq[i]! - wT[i]!) <= s + 1e-6, `element ${i}`);
    }
  }
});

test('quantize-int4 emits MatMulNBits that ORT runs (symmetric and asymmetric), bias folded, 1/7 of the bytes', async () => {
  const m = mlp({ sizes: [64, 128, 32] });
  const feeds = { x: { dims: [4, 64], data: structuredBatch(1, 4, 64) } };
  const ref = (await runModel(m, feeds)).logits!;
  for (const symmetric of [true, false]) {
    const { model, record } = await quantizeInt4(m, { symmetric, blockSize: 32 });
    const nb = model.graph.nodes.filter((n) => n.opType === 'MatMulNBits');
    assert.equal(nb.length, 2);
    assert.equal(model.graph.nodes.filter((n) => n.opType === 'Add').length, 0, 'bias folded into MatMulNBits');
    assert.equal(model.graph.initializers.get(nb[0]!.inputs[1]!)!.dataType, DataType.UINT8);
    assert.ok(Number(record.stats.weightBytesAfter) < Number(record.stats.weightBytesBefore) / 5);
    const got = (await runModel(model, feeds)).logits!;
    assert.ok(cosine(ref, got) > 0.98, `symmetric=${symmetric} cosine ${cosine(ref, got)}`);
    const opt = await optimizedOpCounts(model);
    assert.equal(opt.get('com.microsoft.MatMulNBits'), 2);
  }
});

test('GPTQ with calibration activations beats round-to-nearest on held-out outputs', async () => {
  const dim = 128;
  const m = mlp({ sizes: [dim, 96, 24], seed: 4 });
  const calibration = async function* (): AsyncIterable<Feeds> {
    for (let b = 0; b < 4; b++) yield { x: { type: 'float32', dims: [64, dim], data: structuredBatch(100 + b, 64, dim) } };
  };
  const held = { x: { dims: [128, dim], data: structuredBatch(7, 128, dim) } };
  const ref = (await runModel(m, held)).logits!;
  const rtn = (await quantizeInt4(m, { method: 'rtn', blockSize: 32 })).model;
  const gptq = await quantizeInt4(m, { method: 'gptq', blockSize: 32 }, { calibration });
  const eRtn = relL2(ref, (await runModel(rtn, held)).logits!);
  const eGptq = relL2(ref, (await runModel(gptq.model, held)).logits!);
  assert.ok(eGptq < eRtn * 0.8, `gptq ${eGptq} vs rtn ${eRtn}`);
  if (process.env.EDGEFIT_VERBOSE) console.log({ eRtn, eGptq });
  await assert.rejects(quantizeInt4(m, { method: 'gptq' }), /needs calibration/);
});

test('quantize-int4 leaves what it cannot take in float and lists why; bad block size is a usage error', async () => {
  const m = mlp({ sizes: [8, 64, 4] });
  const { record, model } = await quantizeInt4(m, { blockSize: 16 });
  assert.equal(record.stats.quantized, 1);
  assert.match(record.skipped[0]!.reason, /smaller than the block size/);
  assert.ok(model.graph.nodes.some((n) => n.opType === 'MatMul'));
  await assert.rejects(quantizeInt4(m, { blockSize: 24 }), /power of two/);
});

test('HQQ (integer or float zero points) runs in ORT and lowers the weight error of heavy-tailed weights below RTN', async () => {
  // Weights with a few outliers per block: the case an lp (p < 1) fit is for.
  const g = normal(rng(3));
  const m = mlp({ sizes: [128, 64, 8], seed: 8 });
  const w = m.graph.initializers.get('fc0.weight')!;
  const v = w.toFloat32().map((x, i) => (i % 37 === 0 ? x * 8 : x) + 0.001 * g());
  m.graph.initializers.set('fc0.weight', Tensor.fromFloat32('fc0.weight', w.dims, v));
  const rtn = await quantizeInt4(m, { method: 'rtn', symmetric: false });
  const feeds = { x: { dims: [16, 128], data: structuredBatch(2, 16, 128) } };
  const ref = (await runModel(m, feeds)).logits!;
  for (const floatZeroPoints of [false, true]) {
    const hqq = await quantizeInt4(m, { method: 'hqq', floatZeroPoints });
    assert.ok(
      Number(hqq.record.stats.weightRelError) < Number(rtn.record.stats.weightRelError),
      `hqq ${hqq.record.stats.weightRelError} vs rtn ${rtn.record.stats.weightRelError}`,
    );
    const nb = hqq.model.graph.nodes.find((n) => n.opType === 'MatMulNBits')!;
    assert.equal(hqq.model.graph.initializers.get(nb.inputs[3]!)!.dataType, floatZeroPoints ? DataType.FLOAT : DataType.UINT8);
    assert.ok(cosine(ref, (await runModel(hqq.model, feeds)).logits!) > 0.98);
  }
});
