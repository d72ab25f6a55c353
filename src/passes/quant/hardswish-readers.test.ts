import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import type { Model } from '../../onnx/model.js';
import { randomFeeds } from '../../zoo/index.js';
import type { Feeds } from '../pass.js';
import { quantizeStatic } from '../quantize-static.js';
import { hardSwishRange, uint8Params } from './hardswish-readers.js';
import { cosine, optimizedOpCounts, runModel } from './ort-check.js';

test('the range of HardSwish over an interval: its minimum −3/8 at −1.5, its ends otherwise', () => {
  assert.deepEqual(hardSwishRange(-5, 7), [-0.375, 7]);
  assert.deepEqual(hardSwishRange(-1, 2), [-1 / 3, (2 * 5) / 6]);
  assert.deepEqual(
    hardSwishRange(-6, -4).map((v) => v + 0),
    [0, 0],
  );
  const [lo, hi] = hardSwishRange(-2, -1.6);
  assert.ok(Math.abs(lo - (-1.6 * 1.4) / 6) < 1e-12 && Math.abs(hi - (-2 * 1) / 6) < 1e-12, `${lo} ${hi}`);
});

test('uint8 parameters hold the range and 0', () => {
  assert.deepEqual(uint8Params(-1, 1.55), { scale: Math.fround(2.55 / 255), zp: 100 });
  assert.deepEqual(uint8Params(0.5, 2.55), { scale: Math.fround(2.55 / 255), zp: 0 });
  assert.equal(uint8Params(-2.55, -1).zp, 255);
});

/**
 * PP-LCNet's squeeze-excite stage: Conv → HardSwish → Mul(scale) → Add(bias), read by the excite branch
 * (GlobalAveragePool → Conv → Relu → Conv → HardSigmoid) and by the Mul with its gate → Conv; then
 * HardSwish → Mul → Add → AveragePool → Conv, as its last stage ends. `gain` is the scalar Mul's value.
 */
function seStage(gain: number): Model {
  const b = new GraphBuilder('se-stage');
  const x = b.input('x', DataType.FLOAT, ['n', 4, 8, 8]);
  const wave = (name: string, dims: number[], k: number) =>
    b.floats(
      name,
      dims,
      Array.from({ length: dims.reduce((p, d) => p * d, 1) }, (_, i) => k * Math.sin(i * 0.7 + 0.3)),
    );
  const lab = (v: string, tag: string) => b.op('Add', [b.op('Mul', [b.scalar(`${tag}_s`, gain), v]), b.scalar(`${tag}_b`, 0.2)]);
  const v = lab(b.op('HardSwish', [b.op('Conv', [x, wave('w0', [8, 4, 1, 1], 1.2), wave('b0', [8], 0.4)], { kernel_shape: [1, 1] })]), 'lab0');
  const squeezed = b.op('Relu', [
    b.op('Conv', [b.op('GlobalAveragePool', [v]), wave('w1', [2, 8, 1, 1], 0.9), wave('b1', [2], 0.1)], { kernel_shape: [1, 1] }),
  ]);
  const gate = b.op('HardSigmoid', [b.op('Conv', [squeezed, wave('w2', [8, 2, 1, 1], 0.9), wave('b2', [8], 0.2)], { kernel_shape: [1, 1] })], {
    alpha: 1 / 6,
    beta: 0.5,
  });
  const c3 = b.op('Conv', [b.op('Mul', [v, gate]), wave('w3', [8, 8, 1, 1], 0.5), wave('b3', [8], 0.1)], { kernel_shape: [1, 1] });
  const v2 = lab(b.op('HardSwish', [c3]), 'lab1');
  const pooled = b.op('AveragePool', [v2], { kernel_shape: [2, 2], strides: [2, 2] });
  b.output(b.op('Conv', [pooled, wave('w4', [4, 8, 1, 1], 0.7)], { kernel_shape: [1, 1] }, { outputs: ['y'] }), DataType.FLOAT, ['n', 4, 4, 4]);
  return b.model({ opset: 14 });
}

const calibration = async function* () {
  for (let i = 0; i < 2; i++) yield randomFeeds({ x: [4, 4, 8, 8] }, i + 1) as unknown as Feeds;
};
const feeds = { x: { dims: [2, 4, 8, 8], data: randomFeeds({ x: [2, 4, 8, 8] }, 7).x!.data as Float32Array } };

test('hardswish=uint8 takes a squeeze-excite stage and a pooled one into int8: ORT runs the pools and the gated Mul on uint8 codes', async () => {
  const m = seStage(1.3);
  const q = await quantizeStatic(m, { scope: 'compute', quantizeDepthwise: true, hardswish: 'uint8' }, { calibration });
  assert.ok(
    q.record.notes.some((n) => /^2 HardSwish whose readers go int8/.test(n)),
    q.record.notes.join('; '),
  );
  const ops = await optimizedOpCounts(q.model);
  const show = JSON.stringify([...ops]);
  assert.equal(ops.get('com.microsoft.QLinearGlobalAveragePool'), 1, show);
  assert.equal(ops.get('com.microsoft.QLinearAveragePool'), 1, show);
  assert.equal(ops.get('com.microsoft.QLinearMul'), 3, `two HardSwish and the gate: ${show}`);
  for (const op of ['Mul', 'Add', 'HardSwish', 'GlobalAveragePool', 'AveragePool', 'Conv']) assert.equal(ops.get(op) ?? 0, 0, `no float ${op}: ${show}`);
  const skippedOps = new Set(q.record.skipped.map((s) => s.opType));
  assert.ok(!skippedOps.has('GlobalAveragePool') && !skippedOps.has('AveragePool'), 'pools that went int8 are not reported as float');
  const [a, c] = [(await runModel(m, feeds)).y!, (await runModel(q.model, feeds)).y!];
  assert.ok(cosine(a, c) > 0.995, `outputs kept: cosine ${cosine(a, c)}`);
});

test('a negative scale after the HardSwish, or a reader with no int8 kernel, leaves the stage in float', async () => {
  const neg = await quantizeStatic(seStage(-1.3), { scope: 'compute', quantizeDepthwise: true, hardswish: 'uint8' }, { calibration });
  assert.ok(!neg.record.notes.some((n) => /readers go int8/.test(n)), neg.record.notes.join('; '));
  assert.equal((await optimizedOpCounts(neg.model)).get('com.microsoft.QLinearGlobalAveragePool') ?? 0, 0);
  // the excite gate through a Tanh instead of HardSigmoid: its range is not [0, 1]
  const m = seStage(1.3);
  const hsig = m.graph.nodes.find((n) => n.opType === 'HardSigmoid')!;
  hsig.opType = 'Tanh';
  hsig.attributes.clear();
  const tanh = await quantizeStatic(m, { scope: 'compute', quantizeDepthwise: true, hardswish: 'uint8' }, { calibration });
  assert.ok(
    tanh.record.notes.some((n) => /^1 HardSwish whose readers go int8/.test(n)),
    `only the pooled stage: ${tanh.record.notes.join('; ')}`,
  );
  const [a, c] = [(await runModel(m, feeds)).y!, (await runModel(tanh.model, feeds)).y!];
  assert.ok(cosine(a, c) > 0.995, `outputs kept: cosine ${cosine(a, c)}`);
});
