import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { buildBackward } from '../train/backward.js';
import { probeFacts } from '../train/probe.js';
import { blockFactors } from './grad-resize.js';

test('blockFactors: whole factors per axis for the mappings that copy each element to a block', () => {
  assert.deepEqual(blockFactors('nearest', 'asymmetric', 'floor', [1, 3, 4, 5], [1, 3, 8, 20]), [1, 1, 2, 4]);
  assert.deepEqual(blockFactors('nearest', 'half_pixel', 'round_prefer_floor', [2, 2, 3, 3], [2, 2, 24, 3]), [1, 1, 8, 1]);
  assert.deepEqual(blockFactors('nearest', 'pytorch_half_pixel', 'round_prefer_ceil', [1, 1, 2], [1, 1, 6]), [1, 1, 3]);
});

test('blockFactors: every other case says why it is not a block sum', () => {
  assert.match(String(blockFactors('linear', 'half_pixel', 'round_prefer_floor', [1, 1, 2], [1, 1, 4])), /mode 'linear'/);
  // asymmetric with rounding sends output 1 of a ×2 block to input 1: not a block
  assert.match(String(blockFactors('nearest', 'asymmetric', 'round_prefer_floor', [1, 1, 2], [1, 1, 4])), /asymmetric' with nearest_mode 'round_prefer_floor'/);
  assert.match(String(blockFactors('nearest', 'align_corners', 'floor', [1, 1, 2], [1, 1, 4])), /align_corners/);
  assert.match(String(blockFactors('nearest', 'asymmetric', 'floor', [1, 1, 2], [1, 1, 3])), /not a whole multiple/);
  assert.match(String(blockFactors('nearest', 'asymmetric', 'floor', [1, 1, 4], [1, 1, 2])), /not a whole multiple/, 'a downscale is not a block copy');
  assert.match(String(blockFactors('nearest', 'asymmetric', 'floor', [1, 4], [1, 1, 8])), /ranks differ/);
});

test('blockFactors: the other accepted roundings, and an empty output, are decided right', () => {
  assert.deepEqual(blockFactors('nearest', 'half_pixel', 'round_prefer_ceil', [1, 2], [1, 4]), [1, 2]);
  assert.deepEqual(blockFactors('nearest', 'pytorch_half_pixel', 'round_prefer_floor', [1, 2], [1, 6]), [1, 3]);
  assert.match(String(blockFactors('nearest', 'half_pixel', 'floor', [1, 2], [1, 4])), /half_pixel' with nearest_mode 'floor'/);
  assert.match(String(blockFactors('nearest', 'asymmetric', 'floor', [1, 2], [1, 0])), /not a whole multiple/, 'a factor of 0 copies nothing');
});

test('Resize ×2 gradient: the block sums, shaped like the input, at a batch size other than the probed one', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, ['N', 1, 2, 2]);
  const scales = b.constant('s', Tensor.fromNumbers('s', DataType.FLOAT, [4], [1, 1, 2, 2]));
  const y = b.op('Resize', [x, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
  // loss = Σ y ⊙ W, W = 0, 1, 2, … over each sample's 4×4 output, so dx is each 2×2 block's sum of W
  const w = b.constant(
    'w',
    Tensor.fromNumbers(
      'w',
      DataType.FLOAT,
      [1, 1, 4, 4],
      Array.from({ length: 16 }, (_, i) => i),
    ),
  );
  const loss = b.op('ReduceSum', [b.op('Mul', [y, w])], { keepdims: 0 });
  b.output(loss, DataType.FLOAT, []);
  const m = b.model();
  const feeds = (n: number) => ({ x: new ort.Tensor('float32', new Float32Array(n * 4).fill(1), [n, 1, 2, 2]) });
  const facts = await probeFacts(m, feeds(2));
  const grads = buildBackward(m.graph, loss, ['x'], facts, 17);
  m.graph.outputs = [{ name: grads.get('x')! }];
  const out = (await (await createSession(m)).run(feeds(3)))[grads.get('x')!]!;
  assert.deepEqual(out.dims, [3, 1, 2, 2]);
  // blocks of the 4×4 grid 0…15: {0,1,4,5} = 10, {2,3,6,7} = 18, {8,9,12,13} = 42, {10,11,14,15} = 50
  assert.deepEqual(Array.from(out.data as Float32Array), [10, 18, 42, 50, 10, 18, 42, 50, 10, 18, 42, 50]);
});
