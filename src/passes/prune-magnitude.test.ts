import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { pruneMagnitude } from './prune-magnitude.js';
import { maxAbsDiff, runModel } from './quant/ort-check.js';
import { randomFeeds } from '../zoo/index.js';

/** Two MatMul layers: w1 [8, 4] values 1..32 (signs alternating), w2 [4, 2] values 100..800. */
function twoLayers(): Model {
  const b = new GraphBuilder();
  const w1 = Array.from({ length: 32 }, (_, i) => (i % 2 ? -1 : 1) * (i + 1));
  const w2 = Array.from({ length: 8 }, (_, i) => 100 * (i + 1));
  const h = b.op('Relu', [b.op('MatMul', [b.input('x', DataType.FLOAT, ['n', 8]), b.floats('w1', [8, 4], w1)], {}, { name: 'm1' })]);
  b.output(b.op('MatMul', [h, b.floats('w2', [4, 2], w2)], {}, { name: 'm2' }));
  return b.model();
}
const w = (m: Model, name: string) => Array.from(m.graph.initializers.get(name)!.toFloat32());

test('per layer: round(ratio · size) smallest |w| become zero in each layer (l1_unstructured)', async () => {
  const { model, record } = await pruneMagnitude(twoLayers(), { ratio: 0.5 });
  assert.deepEqual(
    w(model, 'w1').map((v) => v !== 0),
    Array.from({ length: 32 }, (_, i) => i >= 16),
  );
  assert.deepEqual(w(model, 'w2'), [0, 0, 0, 0, 500, 600, 700, 800]);
  assert.equal(record.stats.zeros, 20);
});

test('global: one ranking over all layers, so the small-magnitude layer loses more', async () => {
  const { model } = await pruneMagnitude(twoLayers(), { ratio: 0.5, scope: 'global' });
  assert.equal(w(model, 'w1').filter((v) => v === 0).length, 20);
  assert.equal(w(model, 'w2').filter((v) => v === 0).length, 0);
});

test('2:4 keeps the two largest |w| of every 4 along the reduction axis', async () => {
  const { model } = await pruneMagnitude(twoLayers(), { nm: '2:4' });
  const v = w(model, 'w1'); // [8, 4]: groups run down each column
  for (let col = 0; col < 4; col++)
    for (const start of [0, 4]) {
      const group = [0, 1, 2, 3].map((j) => v[(start + j) * 4 + col]!);
      assert.deepEqual(
        group.map((x) => x !== 0),
        [false, false, true, true],
        `column ${col} rows ${start}..${start + 3}`,
      );
    }
  await assert.rejects(() => pruneMagnitude(twoLayers(), { nm: '4:2' }), /N:M/);
});

test('ratio 0 is bit-identical; 80% shrinks the gzip size', async () => {
  const m = twoLayers();
  const feeds = randomFeeds({ x: [3, 8] });
  const same = await pruneMagnitude(m, { ratio: 0 });
  const [a, b] = [await runModel(m, feeds), await runModel(same.model, feeds)];
  for (const k of Object.keys(a)) assert.equal(maxAbsDiff(a[k]!, b[k]!), 0);
  const { record } = await pruneMagnitude(m, { ratio: 0.8, measureSize: true });
  assert.ok(Number(record.stats.gzipAfter) < Number(record.stats.gzipBefore));
});
