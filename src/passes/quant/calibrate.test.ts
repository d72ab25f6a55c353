import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import { EdgefitError } from '../../onnx/errors.js';
import type { Feeds } from '../pass.js';
import { calibrate } from './calibrate.js';

/** x [n, 4] → h = 3x − 1 → y = Relu(h) */
function model() {
  const b = new GraphBuilder('cal');
  const x = b.input('x', DataType.FLOAT, ['n', 4]);
  const h = b.op('Add', [b.op('Mul', [x, b.scalar('three', 3)]), b.scalar('one', -1)], {}, { outputs: ['h'] });
  b.output(b.op('Relu', [h], {}, { outputs: ['y'] }), DataType.FLOAT, ['n', 4]);
  return b.model({ opset: 13 });
}

test('min-max calibration sees intermediate tensors and graph inputs across every batch', async () => {
  const batches = [
    [0.5, -2, 1, 0],
    [4, 0.25, -0.5, 2],
  ];
  const stream = async function* (): AsyncIterable<Feeds> {
    for (const v of batches) yield { x: { type: 'float32', data: Float32Array.from(v), dims: [1, 4] } };
  };
  const r = await calibrate(model(), ['x', 'h', 'y'], stream, { method: 'minmax' });
  assert.equal(r.batches, 2);
  assert.equal(r.samples, 2);
  assert.deepEqual(r.ranges.get('x'), [-2, 4]);
  assert.deepEqual(r.ranges.get('h'), [-7, 11]);
  assert.deepEqual(r.ranges.get('y'), [0, 11]);
});

test('maxSamples stops the stream early; an empty stream or missing input is a clear error', async () => {
  let pulled = 0;
  const endless = async function* (): AsyncIterable<Feeds> {
    for (;;) {
      pulled++;
      yield { x: { type: 'float32', data: new Float32Array(8), dims: [2, 4] } };
    }
  };
  const r = await calibrate(model(), ['h'], endless, { method: 'entropy', maxSamples: 10 });
  assert.equal(r.samples, 10);
  assert.equal(pulled, 5);
  const empty = async function* (): AsyncIterable<Feeds> {};
  await assert.rejects(calibrate(model(), ['h'], empty, { method: 'minmax' }), (e: unknown) => e instanceof EdgefitError && /no data/.test(e.message));
  const wrong = async function* (): AsyncIterable<Feeds> {
    yield { z: { type: 'float32', data: new Float32Array(4), dims: [1, 4] } };
  };
  await assert.rejects(
    calibrate(model(), ['h'], wrong, { method: 'minmax' }),
    (e: unknown) => e instanceof EdgefitError && /lacks model input\(s\) x/.test(e.message),
  );
});
