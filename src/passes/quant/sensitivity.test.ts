import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import { randomFeeds } from '../../zoo/index.js';
import type { Feeds } from '../pass.js';
import { mixedPrecision, QualityProbe } from './sensitivity.js';

/**
 * A 3-layer MLP whose middle layer has one huge weight on an input that is always 0: the outputs do
 * not see it, but per-tensor int8 weights do, and crush the layer's other weights to zero.
 */
function model() {
  const b = new GraphBuilder('sens');
  let h = b.input('x', DataType.FLOAT, ['n', 32]);
  const sizes = [32, 48, 48, 10];
  for (let l = 0; l < 3; l++) {
    const [fi, fo] = [sizes[l]!, sizes[l + 1]!];
    const w = Array.from({ length: fi * fo }, (_, i) => Math.sin(i * 1.7 + l) / Math.sqrt(fi));
    if (l === 1) w[5 * fo] = 500; // row 5: input feature 5 of this layer, always 0 (see below)
    h = b.op('MatMul', [h, b.floats(`w${l}`, [fi, fo], w)], {}, { name: `fc${l}` });
    if (l < 2) h = b.op('Relu', [h], {}, { name: `relu${l}` });
    // Feature 5 of the first hidden layer is forced to 0.
    if (l === 0)
      h = b.op(
        'Mul',
        [
          h,
          b.floats(
            'mask',
            [48],
            Array.from({ length: 48 }, (_, i) => (i === 5 ? 0 : 1)),
          ),
        ],
        {},
        { name: 'mask' },
      );
  }
  b.output(b.op('Identity', [h], {}, { outputs: ['y'] }), DataType.FLOAT, ['n', 10]);
  return b.model({ opset: 13 });
}

const stream = (seed: number, n: number) =>
  async function* (): AsyncIterable<Feeds> {
    for (let i = 0; i < n; i++) yield randomFeeds({ x: [16, 32] }, seed + i) as unknown as Feeds;
  };

test('mixed precision finds the sensitive layer, keeps only it float, and meets the floor', async () => {
  const m = model();
  const probe = await QualityProbe.create(m, stream(1000, 4));
  assert.equal(probe.defaultMetric, 'top1');
  const r = await mixedPrecision(m, { perChannel: false }, { calibration: stream(0, 4) }, probe, { floor: 0.99, metric: 'cosine', iterations: 3 });
  assert.ok(r.fullyQuantizedQuality < 0.99, `all-int8 should break the floor (got ${r.fullyQuantizedQuality})`);
  assert.equal(r.table.length, 3, 'one row per quantized MatMul');
  const top = [...r.table].sort((a, b) => b.gain - a.gain)[0]!;
  assert.equal(top.node, 'fc1', 'the outlier layer buys back the most quality');
  assert.ok(r.keptFloat.includes('fc1'));
  assert.ok(r.floorMet && r.quality >= 0.99, `quality ${r.quality}`);
  assert.ok(r.keptFloat.length < 3, 'not everything was given up');
  assert.ok(!r.result.quantized.includes('fc1'));
  for (const row of r.table) assert.ok(row.msCost >= 0 && Number.isFinite(row.gainPerMs));
});

test('a floor that already holds keeps everything quantized', async () => {
  const m = model();
  const probe = await QualityProbe.create(m, stream(1000, 2));
  const r = await mixedPrecision(m, { perChannel: true }, { calibration: stream(0, 4) }, probe, { floor: 0.5, metric: 'cosine' });
  assert.deepEqual(r.keptFloat, []);
  assert.equal(r.table.length, 0);
  assert.ok(r.result.quantized.includes('fc1'));
});
