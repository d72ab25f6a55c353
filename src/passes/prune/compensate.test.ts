// Removed channels that are constants (zero weights, a bias) must leave the outputs unchanged once
// pruned: their constant is folded into the next layer's bias (Conv B, a new Conv bias that is itself
// sliced, a new Add after a MatMul). Without the compensation the outputs move by W·act(bias).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import type { Model } from '../../onnx/model.js';
import { verifyModel } from '../../onnx/verify.js';
import { randomFeeds } from '../../zoo/index.js';
import { maxAbsDiff, runModel } from '../quant/ort-check.js';
import { pruneStructured } from '../prune-structured.js';

/** rows × cols weights in [0.2, 0.7) with a fixed pattern; the first `dead` rows (axis 0) are zero. */
function weights(rows: number, cols: number, inner: number, dead = 0, seed = 1): Float32Array {
  return Float32Array.from({ length: rows * cols * inner }, (_, i) =>
    Math.floor(i / (cols * inner)) < dead ? 0 : 0.2 + ((i * 7919 + seed * 104729) % 97) / 194,
  );
}

/** Conv 4→8 (rows 0..3 zero, bias 1) → Relu → Conv 8→8 without bias (rows 0..3 zero) → Relu → Conv 8→3. */
function convChain(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['n', 4, 5, 5]);
  const a = b.op('Conv', [x, b.floats('a.w', [8, 4, 1, 1], weights(8, 4, 1, 4)), b.floats('a.b', [8], new Float32Array(8).fill(1))], {}, { name: 'a' });
  const m = b.op('Conv', [b.op('Relu', [a]), b.floats('m.w', [8, 8, 1, 1], weights(8, 8, 1, 4, 2))], {}, { name: 'm' });
  const c = b.op('Conv', [b.op('Relu', [m]), b.floats('c.w', [3, 8, 1, 1], weights(3, 8, 1, 0, 3)), b.floats('c.b', [3], [0.1, -0.2, 0.3])], {}, { name: 'c' });
  b.output(c);
  return b.model();
}

/** MatMul 6→8 (columns 0..3 zero) + bias 0.5 → Relu → MatMul 8→3 (no bias). */
function linearChain(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['n', 6]);
  const w1 = weights(8, 6, 1, 4).slice();
  // stored [in 6, out 8]: transpose the [8, 6] pattern so output columns 0..3 are zero
  const t = new Float32Array(48);
  for (let o = 0; o < 8; o++) for (let i = 0; i < 6; i++) t[i * 8 + o] = w1[o * 6 + i]!;
  const h = b.op('Add', [b.op('MatMul', [x, b.floats('l1.w', [6, 8], t)], {}, { name: 'l1' }), b.floats('l1.b', [8], new Float32Array(8).fill(0.5))]);
  b.output(b.op('MatMul', [b.op('Relu', [h]), b.floats('l2.w', [8, 3], weights(8, 3, 1, 0, 5))], {}, { name: 'l2' }));
  return b.model();
}

async function drift(a: Model, b: Model, shapes: Record<string, number[]>): Promise<number> {
  const feeds = randomFeeds(shapes, 7);
  const [ra, rb] = [await runModel(a, feeds), await runModel(b, feeds)];
  return Math.max(...Object.keys(ra).map((k) => maxAbsDiff(ra[k]!, rb[k]!)));
}

test('Conv consumers: constant channels pruned, outputs unchanged; a bias made for a bias-less conv is sliced with it', async () => {
  const src = convChain();
  const { model, record } = await pruneStructured(src, { ratio: 0.5, multiple: 1 });
  verifyModel(model);
  assert.equal(record.stats.removed, 8, 'four channels of each 8-wide layer');
  assert.equal(record.stats.compensatedLayers, 1, "only m reads a constant (relu(1)); c reads m's zeros");
  const mBias = model.graph.nodes.find((n) => n.name === 'm')!.inputs[2]!;
  assert.deepEqual(model.graph.initializers.get(mBias)?.dims, [4]);
  const d = await drift(src, model, { x: [2, 4, 5, 5] });
  assert.ok(d < 1e-4, `max |diff| ${d}`);
  const plain = (await pruneStructured(src, { ratio: 0.5, multiple: 1, compensate: false })).model;
  assert.ok((await drift(src, plain, { x: [2, 4, 5, 5] })) > 0.5, 'without compensation the constant channels are lost');
});

test('MatMul consumer: the constant goes into a new Add after it', async () => {
  const src = linearChain();
  const { model, record } = await pruneStructured(src, { ratio: 0.5, multiple: 1 });
  verifyModel(model);
  assert.equal(record.stats.compensatedLayers, 1);
  assert.ok(model.graph.nodes.some((n) => n.opType === 'Add' && n.inputs[0]!.endsWith('.uncompensated')));
  const d = await drift(src, model, { x: [3, 6] });
  assert.ok(d < 1e-4, `max |diff| ${d}`);
});

test('compensate: false and ratio 0 leave the surgery alone', async () => {
  const src = convChain();
  const { record } = await pruneStructured(src, { ratio: 0.5, multiple: 1, compensate: false });
  assert.equal(record.stats.compensatedLayers, undefined);
  const same = await pruneStructured(src, { ratio: 0 });
  assert.equal(await drift(src, same.model, { x: [1, 4, 5, 5] }), 0);
});

test('a symbolic length the graph bounds (BERT position rows, 32) fails the 128 probe; a smaller probe compensates', async () => {
  const { bertEncoder } = await import('../../zoo/bert-encoder.js');
  const m = bertEncoder({ layers: 1, hidden: 32, heads: 4, seq: 32, intermediate: 64, vocab: 1000, classes: 5 });
  const r = await pruneStructured(m, { ratio: 0.5 });
  assert.ok(Number(r.record.stats.compensatedLayers) > 0, JSON.stringify(r.record.notes));
  assert.deepEqual(r.record.notes, []);
});
