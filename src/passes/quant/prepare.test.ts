import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import type { Model } from '../../onnx/model.js';
import { createSession } from '../../runtime/session.js';
import { randomFeeds } from '../../zoo/index.js';
import { divToMul, foldBatchNorm } from './prepare.js';

function convBnDiv(): Model {
  const b = new GraphBuilder('bn');
  const x = b.input('x', DataType.FLOAT, [1, 3, 8, 8]);
  const w = Array.from({ length: 4 * 3 * 9 }, (_, i) => Math.sin(i));
  const c = b.op('Conv', [x, b.floats('w', [4, 3, 3, 3], w)], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'conv' });
  const bn = b.op('BatchNormalization', [c, b.floats('g', [4], [1, 2, 0.5, -1]), b.floats('be', [4], [0.1, 0, -0.3, 2]), b.floats('mu', [4], [0.5, -1, 0, 3]), b.floats('var', [4], [1, 4, 0.25, 2])], { epsilon: 1e-3 }, { name: 'bn' });
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
