import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import type { Model } from '../../onnx/model.js';
import { createSession } from '../../runtime/session.js';
import { randomFeeds } from '../../zoo/index.js';
import { divToMul, foldAffineIntoConv, foldBatchNorm, fuseHardSwish } from './prepare.js';

function convBnDiv(): Model {
  const b = new GraphBuilder('bn');
  const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
  const w = Array.from({ length: 4 * 3 * 9 }, (_, i) => Math.sin(i));
  const c = b.op('Conv', [x, b.floats('w', [4, 3, 3, 3], w)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'conv' });
  const bn = b.op(
    'BatchNormalization',
    [
      c,
      b.floats('g', [4], [1, 2, 0.5, -1]),
      b.floats('be', [4], [0.1, 0, -0.3, 2]),
      b.floats('mu', [4], [0.5, -1, 0, 3]),
      b.floats('var', [4], [1, 4, 0.25, 2]),
    ],
    { epsilon: 1e-3 },
    { name: 'bn' },
  );
  const d = b.op('Div', [bn, b.scalar('six', 6)], {}, { name: 'div' });
  b.output(b.op('Identity', [d], {}, { outputs: ['y'] }), DataType.FLOAT, [1, 4, 8, 8]);
  return b.model({ opset: 13 });
}

async function run(m: Model): Promise<Float32Array> {
  const f = randomFeeds({ x: [1, 3, 8, 8] }, 5).x!;
  const s = await createSession(m, { graphOptimizationLevel: 'disabled' });
  const out = (await s.run({ x: new ort.Tensor('float32', f.data, f.dims) })).y!.data as Float32Array;
  await s.release();
  return out;
}

test('BatchNormalization folds into the Conv and Div by a constant becomes Mul, outputs unchanged', async () => {
  const m = convBnDiv();
  const before = await run(m);
  const g = m.clone();
  assert.equal(foldBatchNorm(g.graph), 1);
  assert.equal(divToMul(g.graph), 1);
  assert.ok(!g.graph.nodes.some((n) => n.opType === 'BatchNormalization' || n.opType === 'Div'));
  assert.equal(g.graph.nodes.find((n) => n.name === 'conv')!.inputs.length, 3, 'the Conv gained a bias');
  const after = await run(g);
  for (let i = 0; i < before.length; i++) assert.ok(Math.abs(before[i]! - after[i]!) < 1e-4, `element ${i}: ${before[i]} vs ${after[i]}`);
});

test('a Conv whose output is also read elsewhere is not folded', () => {
  const m = convBnDiv();
  m.graph.outputs.push({ name: m.graph.nodes.find((n) => n.name === 'conv')!.outputs[0]! });
  assert.equal(foldBatchNorm(m.graph), 0);
});

/**
 * PP-LCNetV3-style block: Conv → Mul/Add (per-channel and scalar affine) → x·clip(x+3,0,6)/6 →
 * Mul/Add (scalars) → 1×1 Conv → HardSwish → Add(scalar) → Mul(scalar) → padded 3×3 Conv; the second HardSwish
 * written x·(clip(x+3,0,6)·(1/6)) whose input is also read elsewhere.
 */
function lcnetBlock(): Model {
  const b = new GraphBuilder('lcnet');
  const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
  const w = (name: string, dims: number[]) =>
    b.floats(
      name,
      dims,
      Array.from({ length: dims.reduce((a, d) => a * d, 1) }, (_, i) => Math.sin(i * 1.7 + dims[0]!)),
    );
  let h = b.op('Conv', [x, w('w0', [4, 3, 3, 3]), b.floats('b0', [4], [0.1, -0.2, 0.3, 0])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'conv0' });
  h = b.op('Mul', [b.floats('s0', [4, 1, 1], [0.5, 2, -1, 1.5]), h]);
  h = b.op('Add', [h, b.scalar('t0', 0.25)]);
  const c = b.op('Clip', [b.op('Add', [h, b.scalar('three', 3)]), b.scalar('zero', 0), b.scalar('six', 6)]);
  h = b.op('Div', [b.op('Mul', [h, c]), b.scalar('six2', 6)]);
  h = b.op('Add', [b.op('Mul', [b.scalar('s1', 0.7), h]), b.scalar('t1', -0.4)]);
  h = b.op('Conv', [h, w('w1', [6, 4, 1, 1]), b.floats('b1', [6], [0, 1, 2, 3, 4, 5])], { kernel_shape: [1, 1] }, { name: 'conv1' });
  const c2 = b.op('Clip', [b.op('Add', [b.scalar('three2', 3), h]), b.scalar('zero2', 0), b.scalar('six3', 6)]);
  const hs2 = b.op('Mul', [h, b.op('Mul', [c2, b.scalar('sixth', 1 / 6)])]);
  const side = b.op('Relu', [h]);
  h = b.op('Mul', [b.op('Add', [hs2, b.scalar('t2', 0.2)]), b.scalar('s2', 1.3)]);
  h = b.op('Conv', [h, w('w2', [6, 6, 3, 3])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'conv2' });
  b.output(b.op('Add', [h, side], {}, { outputs: ['y'] }), DataType.FLOAT, [1, 6, 8, 8]);
  return b.model({ opset: 14 });
}

test('decomposed HardSwish fuses, constant Mul/Add fold into the Conv next to them, outputs unchanged', async () => {
  const m = lcnetBlock();
  const before = await run(m);
  const g = m.clone();
  assert.equal(fuseHardSwish(g.graph, 14), 2);
  // conv0: Mul per channel + Add after; conv1: Mul + Add before (no padding); conv2: the Mul right before
  // it, not the Add before that (it would change the zero padding). conv1's output has other readers.
  assert.equal(foldAffineIntoConv(g.graph), 5);
  const ops = g.graph.nodes.filter((n) => n.opType !== 'Constant').map((n) => n.opType);
  assert.deepEqual(ops.filter((o) => o === 'HardSwish').length, 2);
  assert.equal(ops.filter((o) => o === 'Clip' || o === 'Div').length, 0);
  assert.equal(ops.filter((o) => o === 'Mul').length, 0, ops.join(' '));
  assert.equal(ops.filter((o) => o === 'Add').length, 2, 'the Add before the padded conv2 and the final Add stay');
  const after = await run(g);
  for (let i = 0; i < before.length; i++)
    assert.ok(Math.abs(before[i]! - after[i]!) < 1e-4 * (1 + Math.abs(before[i]!)), `element ${i}: ${before[i]} vs ${after[i]}`);
});

test('HardSwish is not fused below opset 14, nor when an inner value is read elsewhere', () => {
  assert.equal(fuseHardSwish(lcnetBlock().graph, 13), 0);
  const m = lcnetBlock();
  const clip = m.graph.nodes.find((n) => n.opType === 'Clip')!;
  m.graph.outputs.push({ name: clip.outputs[0]! });
  assert.equal(fuseHardSwish(m.graph, 14), 1);
});
