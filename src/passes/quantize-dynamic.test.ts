import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DataType } from '../onnx/dtype.js';
import { GraphBuilder } from '../onnx/builder.js';
import { Tensor } from '../onnx/tensor.js';
import { bertEncoder, mlp, randomFeeds } from '../zoo/index.js';
import { validateParams } from './params.js';
import { quantizeDynamic, quantizeDynamicPass } from './quantize-dynamic.js';
import { cosine, optimizedOpCounts, runModel } from './quant/ort-check.js';

const bert = () => bertEncoder({ layers: 2, hidden: 64, heads: 4, seq: 16, classes: 3 });

test('quantize-dynamic turns every weight MatMul/Gemm of a BERT encoder into DynamicQuantizeMatMul, bias folded', async () => {
  const m = bert();
  const weightMatMuls = m.graph.nodes.filter((n) => (n.opType === 'MatMul' || n.opType === 'Gemm') && m.graph.initializers.has(n.inputs[1]!)).length;
  const { model, record } = await quantizeDynamic(m, {});
  const dq = model.graph.nodes.filter((n) => n.opType === 'DynamicQuantizeMatMul');
  assert.equal(dq.length, weightMatMuls);
  assert.equal(record.stats.quantized, weightMatMuls);
  // Merged: Q, K and V read the same input, so one kernel per layer for the three, then a Split.
  const mergedRun = await quantizeDynamic(m, { mergeSiblings: true });
  const merged = mergedRun.model;
  assert.equal(merged.graph.nodes.filter((n) => n.opType === 'DynamicQuantizeMatMul').length, weightMatMuls - 2 * 2);
  assert.equal(mergedRun.record.stats.mergedIntoShared, 3 * 2);
  assert.equal(merged.graph.nodes.filter((n) => n.opType === 'Split').length, 2);
  assert.ok(
    dq.every((n) => n.inputs.length === 5 && n.inputs[4] !== ''),
    'bias folded into every node',
  );
  // attention q·k and p·v multiply two activations: left in float and listed
  assert.equal(record.skipped.filter((s) => /activations/.test(s.reason)).length, 4);
  assert.equal(model.graph.nodes.filter((n) => n.opType === 'MatMul').length, 4);
  // weights are int8 with one scale per output column
  const w = model.graph.initializers.get(dq[0]!.inputs[1]!)!;
  assert.equal(w.dataType, DataType.INT8);
  assert.deepEqual([...model.graph.initializers.get(dq[0]!.inputs[2]!)!.dims], [w.dims[1]]);
  assert.ok(Number(record.stats.weightBytesAfter) * 4 === Number(record.stats.weightBytesBefore));
  const feeds = randomFeeds({ x: [2, 16, 64] });
  const [a, b, c] = [await runModel(m, feeds), await runModel(model, feeds), await runModel(merged, feeds)];
  assert.ok(cosine(a.logits!, b.logits!) > 0.99, `cosine ${cosine(a.logits!, b.logits!)}`);
  assert.ok(cosine(a.logits!, c.logits!) > 0.99, `cosine ${cosine(a.logits!, c.logits!)}`);
});

test('ORT fuses the standard-ONNX form back into DynamicQuantizeMatMul, and keeps the fused form as is', async () => {
  const m = mlp({ sizes: [32, 48, 8] });
  const integer = (await quantizeDynamic(m, { form: 'integer' })).model;
  assert.ok(integer.graph.nodes.some((n) => n.opType === 'MatMulInteger'));
  const optInteger = await optimizedOpCounts(integer);
  assert.equal(optInteger.get('com.microsoft.DynamicQuantizeMatMul'), 2, JSON.stringify([...optInteger]));
  assert.equal(optInteger.get('MatMulInteger') ?? 0, 0);
  const fused = (await quantizeDynamic(m, {})).model;
  const optFused = await optimizedOpCounts(fused);
  assert.equal(optFused.get('com.microsoft.DynamicQuantizeMatMul'), 2);
  assert.equal(optFused.get('MatMul') ?? 0, 0);
  const feeds = randomFeeds({ x: [3, 32] }, 5);
  const ref = (await runModel(m, feeds)).logits!;
  for (const q of [integer, fused]) assert.ok(cosine(ref, (await runModel(q, feeds)).logits!) > 0.995);
});

test('Gemm: transB, alpha, beta and a full-shape C are honoured; per-tensor also works', async () => {
  const b = new GraphBuilder('gemm');
  const x = b.input('x', DataType.FLOAT, ['n', 6]);
  const w = b.constant(
    'w',
    Tensor.fromFloat32(
      'w',
      [5, 6],
      Float32Array.from({ length: 30 }, (_, i) => Math.sin(i)),
    ),
  );
  const c = b.constant(
    'c',
    Tensor.fromFloat32(
      'c',
      [2, 5],
      Float32Array.from({ length: 10 }, (_, i) => i / 10),
    ),
  );
  const c1 = b.constant(
    'c1',
    Tensor.fromFloat32(
      'c1',
      [5],
      Float32Array.from({ length: 5 }, (_, i) => -i),
    ),
  );
  const y1 = b.op('Gemm', [x, w, c], { transB: 1, alpha: 0.5, beta: 2 }, { name: 'g1' });
  const y2 = b.op('Gemm', [x, w, c1], { transB: 1, alpha: 1.5, beta: 0.5 }, { name: 'g2' });
  b.output(b.op('Add', [y1, y2], {}, { outputs: ['y'] }));
  const m = b.model();
  const feeds = randomFeeds({ x: [2, 6] }, 9);
  const ref = (await runModel(m, feeds)).y!;
  for (const perChannel of [true, false]) {
    const { model, record } = await quantizeDynamic(m, { perChannel });
    assert.equal(record.stats.quantized, 2);
    const got = (await runModel(model, feeds)).y!;
    assert.ok(cosine(ref, got) > 0.999, `perChannel=${perChannel}: ${cosine(ref, got)}`);
  }
});

test('an excluded or unquantizable node stays float and is listed; the pass never fails on it', async () => {
  const m = mlp({ sizes: [16, 16, 4] });
  const { model, record } = await quantizeDynamic(m, { exclude: ['fc1'] });
  assert.equal(record.stats.quantized, 1);
  assert.ok(model.graph.nodes.some((n) => n.name === 'fc1' && n.opType === 'MatMul'));
  assert.deepEqual(
    record.skipped.map((s) => s.node),
    ['fc1'],
  );
  assert.throws(() => validateParams('quantize-dynamic', quantizeDynamicPass.params, { form: 'qdq' }), /must be one of/);
});
