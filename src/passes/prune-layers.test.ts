import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { verifyModel } from '../onnx/verify.js';
import { bertEncoder, randomFeeds } from '../zoo/index.js';
import type { Feeds } from './pass.js';
import { pruneLayers } from './prune-layers.js';
import { layerSegments } from './prune/layer-segments.js';
import { maxAbsDiff, runModel } from './quant/ort-check.js';

const pattern = (n: number, seed: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => scale * (((i * 7919 + seed * 104729) % 97) / 97 - 0.5));

/** x → [block a: MatMul → Relu → MatMul, + x] → [block b: the same, its second weights × `bScale`] → head MatMul 8→3. */
function twoBlocks(bScale = 1): Model {
  const b = new GraphBuilder();
  let x = b.input('x', DataType.FLOAT, ['n', 8]);
  for (const [name, seed, s] of [
    ['a', 1, 1],
    ['b', 2, bScale],
  ] as const) {
    const h = b.op('Relu', [b.op('MatMul', [x, b.floats(`${name}.w1`, [8, 8], pattern(64, seed))], {}, { name: `${name}.up` })]);
    const y = b.op('MatMul', [h, b.floats(`${name}.w2`, [8, 8], pattern(64, seed + 10, s))], {}, { name: `${name}.down` });
    x = b.op('Add', [y, x], {}, { name: `${name}.add` });
  }
  b.output(b.op('MatMul', [x, b.floats('head.w', [8, 3], pattern(24, 5))], {}, { name: 'head' }));
  return b.model();
}

/** x → head only: what dropping both blocks must compute. */
function headOnly(): Model {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['n', 8]);
  b.output(b.op('MatMul', [x, b.floats('head.w', [8, 3], pattern(24, 5))], {}, { name: 'head' }));
  return b.model();
}

const calibration = (shapes: Record<string, number[]>) =>
  async function* (): AsyncIterable<Feeds> {
    const f = randomFeeds(shapes, 3);
    yield Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { type: 'float32', data: v.data, dims: v.dims }]));
  };

test('segments: residual blocks, transformer sublayers and the head, each between two cuts', () => {
  assert.deepEqual(
    layerSegments(twoBlocks().graph).map((s) => s.nodes.at(-1)!.name),
    ['a.add', 'b.add', 'head'],
  );
  // two parallel branches from x: no cut until they meet, though two tensors are live in between
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['n', 8]);
  const p = b.op('MatMul', [x, b.floats('p.w', [8, 8], pattern(64, 3))], {}, { name: 'p' });
  const q = b.op('MatMul', [x, b.floats('q.w', [8, 8], pattern(64, 4))], {}, { name: 'q' });
  b.output(b.op('Add', [p, q], {}, { name: 'par' }));
  assert.deepEqual(
    layerSegments(b.model().graph).map((s) => s.nodes.map((n) => n.name)),
    [['p', 'q', 'par']],
  );
  const bert = layerSegments(bertEncoder({ layers: 2, hidden: 16, heads: 2, seq: 8, vocab: 50 }).graph).map((s) => s.nodes.at(-1)!.name);
  assert.deepEqual(bert.slice(0, 4), ['layer0.attn.residual', 'layer0.ffn.residual', 'layer1.attn.residual', 'layer1.ffn.residual']);
});

test('dropping both residual blocks leaves exactly the head: outputs equal the head alone', async () => {
  const ctx = { calibration: calibration({ x: [16, 8] }) };
  const { model, record } = await pruneLayers(twoBlocks(), { drop: ['a.add', 'b.add'] }, ctx);
  verifyModel(model);
  assert.equal(model.graph.nodes.length, 1);
  assert.equal(record.stats.dropped, 2);
  const feeds = randomFeeds({ x: [4, 8] }, 9);
  const [got, want] = [await runModel(model, feeds), await runModel(headOnly(), feeds)];
  assert.equal(maxAbsDiff(Object.values(got)[0]!, Object.values(want)[0]!), 0);
});

test('count picks the layer of least block influence: a block whose branch is near zero goes first', async () => {
  const src = twoBlocks(1e-4);
  const ctx = { calibration: calibration({ x: [16, 8] }) };
  const { model, record } = await pruneLayers(src, { count: 1 }, ctx);
  assert.match(record.notes[0]!, /dropped 'b\.add'/);
  const feeds = randomFeeds({ x: [4, 8] }, 9);
  const d = maxAbsDiff(Object.values(await runModel(src, feeds))[0]!, Object.values(await runModel(model, feeds))[0]!);
  assert.ok(d < 1e-3, `dropping the near-identity block moves outputs by ${d}`);
  const other = await pruneLayers(src, { drop: ['a.add'] }, ctx);
  const d2 = maxAbsDiff(Object.values(await runModel(src, feeds))[0]!, Object.values(await runModel(other.model, feeds))[0]!);
  assert.ok(d2 > 100 * d, `dropping the other block moves them more (${d2} vs ${d})`);
});

test('a BERT-style encoder loses a whole layer (both sublayers) and still runs on token ids', async () => {
  const src = bertEncoder({ layers: 2, hidden: 16, heads: 2, seq: 8, vocab: 50, classes: 3 });
  const ids = { input_ids: { type: 'int64', data: BigInt64Array.from({ length: 16 }, (_, i) => BigInt(i % 50)), dims: [2, 8] } };
  const ctx = {
    calibration: async function* (): AsyncIterable<Feeds> {
      yield ids;
    },
  };
  const { model } = await pruneLayers(src, { drop: ['layer1.attn.residual', 'layer1.ffn.residual'] }, ctx);
  const mm = (m: Model) => m.graph.nodes.filter((n) => n.opType === 'MatMul').length;
  assert.equal(mm(src) - mm(model), 8, 'Q, K, V, out, QKᵀ, PV, FFN up and down');
  const out = await runModel(model, ids as never);
  assert.ok(Object.values(out)[0]!.every(Number.isFinite));
});

test('bad input: unknown or shape-changing layers, a count above what can go, no data; count 0 is the input', async () => {
  const ctx = { calibration: calibration({ x: [4, 8] }) };
  await assert.rejects(pruneLayers(twoBlocks(), { drop: ['nope'] }, ctx), /no layer ends at a node named 'nope'/);
  await assert.rejects(pruneLayers(twoBlocks(), { drop: ['head'] }, ctx), /'head' changes the shape \[8\] → \[3\]/);
  const most = await pruneLayers(twoBlocks(), { count: 3 }, ctx);
  assert.equal(most.record.stats.dropped, 2);
  assert.ok(most.record.notes.some((n) => /count 3 but only 2 layers keep their shape/.test(n)));
  await assert.rejects(pruneLayers(twoBlocks(), { count: 1 }, {}), /ranks layers on data and has none/);
  const same = await pruneLayers(twoBlocks(), { count: 0 }, ctx);
  assert.equal(same.model.graph.nodes.length, twoBlocks().graph.nodes.length);
});
