import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type * as ort from 'onnxruntime-node';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import type { Model } from './model.js';
import { readModel } from './read-model.js';
import { upgradeOpset } from './opset-upgrade.js';
import { verifyModel } from './verify.js';
import { PADDLE, floatFeed, maxAbsDiff, runOnce } from './test-models.js';

for (const [name, m] of Object.entries(PADDLE)) {
  test(`PaddleOCR ${name}: upgraded to 13, 17 and 21, outputs stay within 1e-5`, async () => {
    const feeds = { x: floatFeed(m.shape, 11) };
    const ref = await runOnce(m.path, feeds);
    for (const target of [13, 17, 21]) {
      const model = readModel(m.path);
      const from = model.opset('');
      const r = upgradeOpset(model, target);
      assert.equal(r.from, from);
      assert.equal(model.opset(''), target);
      verifyModel(model);
      const out = await runOnce(model, feeds);
      for (const k of Object.keys(ref)) {
        const d = maxAbsDiff(ref[k]!, out[k]!);
        assert.ok(d <= 1e-5, `${name}@${target} output ${k}: max |diff| ${d}`);
      }
      if (name !== 'det') assert.ok((r.adapted['Clip@11'] ?? 0) > 0 && (r.adapted['Softmax@13'] ?? 0) > 0, JSON.stringify(r.adapted));
    }
  });
}

/** One op at an old opset, run before and after the upgrade on the same input. */
async function sameAfterUpgrade(opset: number, shape: number[], build: (b: GraphBuilder, x: string) => string | string[], targets = [13, 17, 21]) {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, shape);
  const outs = build(b, x);
  for (const o of Array.isArray(outs) ? outs : [outs]) b.output(o);
  const model = b.model({ opset, irVersion: 5 });
  const feeds = { x: floatFeed(shape, 4) };
  const ref = await runOnce(model, feeds);
  const adapted: Record<string, number>[] = [];
  for (const t of targets) {
    const up: Model = model.clone();
    adapted.push(upgradeOpset(up, t).adapted);
    verifyModel(up);
    let out: Record<string, ort.Tensor>;
    try {
      out = await runOnce(up, feeds);
    } catch (e) {
      throw new Error(`opset ${opset} → ${t}: ORT rejects the upgraded model: ${(e as Error).message.split('\n')[0]}`);
    }
    for (const k of Object.keys(ref)) assert.ok(maxAbsDiff(ref[k]!, out[k]!) <= 1e-6, `${k} after ${opset} → ${t}: ${maxAbsDiff(ref[k]!, out[k]!)}`);
  }
  return adapted[adapted.length - 1]!;
}

test('attribute → input moves: Clip, Slice, Pad, Split, Squeeze/Unsqueeze, Reduce*, TopK, Dropout', async () => {
  let a = await sameAfterUpgrade(9, [2, 3, 4], (b, x) => [
    b.op('Clip', [x], { min: -0.5, max: 0.25 }),
    b.op('Clip', [x], { max: 0.1 }),
    b.op('Slice', [x], { starts: [1, 0], ends: [1000, -1], axes: [2, 1] }),
    b.op('Slice', [x], { starts: [-2], ends: [2 ** 63], axes: [1] }),
    b.op('Pad', [x], { pads: [0, 1, 0, 0, 2, 1], value: 1.5 }),
    b.op('Pad', [x], { pads: [0, 0, 1, 0, 0, 1], mode: 'edge' }),
    b.op('Unsqueeze', [b.op('Squeeze', [b.op('ReduceSum', [x], { axes: [1], keepdims: 1 })], { axes: [1] })], { axes: [0, 3] }),
    b.op('ReduceMean', [x], { axes: [-1], keepdims: 0 }),
    b.op('ReduceMax', [x]),
    ...b.opN('Split', [x], { axis: 2, split: [1, 3] }, { outputs: 2 }),
    ...b.opN('Split', [x], { axis: 2 }, { outputs: 2 }),
    b.opN('TopK', [x], { k: 2 }, { outputs: 2 })[0]!,
    b.op('Dropout', [x], { ratio: 0.3 }),
  ]);
  for (const k of [
    'Split@18',
    'Clip@11',
    'Slice@10',
    'Pad@11',
    'Squeeze@13',
    'Unsqueeze@13',
    'ReduceSum@13',
    'ReduceMean@18',
    'Split@13',
    'TopK@10',
    'Dropout@12',
  ])
    assert.ok(a[k], `${k} did not fire: ${JSON.stringify(a)}`);
  a = await sameAfterUpgrade(12, [2, 3], (b, x) => b.op('ReduceProd', [x], { axes: [0] }));
  assert.deepEqual(a, { 'ReduceProd@18': 1 });
});

test('Softmax family: pre-13 2-D coercion at axis is kept exactly', async () => {
  const a = await sameAfterUpgrade(11, [2, 3, 4, 5], (b, x) => [
    b.op('Softmax', [x], { axis: 1 }),
    b.op('LogSoftmax', [x], { axis: 2 }),
    b.op('Hardmax', [x], { axis: -2 }),
    b.op('Softmax', [x]),
    b.op('Softmax', [x], { axis: 3 }),
    b.op('Softmax', [x], { axis: 0 }),
  ]);
  assert.equal(a['Softmax@13'], 4);
});

test('Upsample (opset 7 and 9) and Resize-10 become Resize that gives the same pixels', async () => {
  await sameAfterUpgrade(9, [1, 2, 3, 4], (b, x) => [
    b.op('Upsample', [x, b.floats('s', [4], [1, 1, 2, 3])], { mode: 'nearest' }),
    b.op('Upsample', [x, b.floats('s2', [4], [1, 1, 2, 2])], { mode: 'linear' }),
  ]);
  await sameAfterUpgrade(7, [1, 2, 3, 4], (b, x) => b.op('Upsample', [x], { scales: [1, 1, 2, 2], mode: 'nearest' }));
  const a = await sameAfterUpgrade(10, [1, 2, 3, 4], (b, x) => [
    b.op('Resize', [x, b.floats('s', [4], [1, 1, 1.5, 2.5])], { mode: 'nearest' }),
    b.op('Resize', [x, b.floats('s2', [4], [1, 1, 2, 1.5])], { mode: 'linear' }),
  ]);
  assert.equal(a['Resize@11'], 2);
});

test('BatchNormalization from opset 7; refusals: downgrade, too old, bad target', async () => {
  const bn = await sameAfterUpgrade(
    9,
    [2, 3, 2, 2],
    (b, x) =>
      b.opN(
        'BatchNormalization',
        [x, b.floats('g', [3], [1, 2, 3]), b.floats('be', [3], [0, 1, 0]), b.floats('mu', [3], [0.1, 0.2, 0.3]), b.floats('va', [3], [1, 2, 0.5])],
        {},
        { outputs: 5 },
      )[0]!,
  );
  assert.equal(bn['BatchNormalization@14'], 1);
  await sameAfterUpgrade(7, [2, 3, 2, 2], (b, x) =>
    b.op(
      'BatchNormalization',
      [x, b.floats('g', [3], [1, 2, 3]), b.floats('be', [3], [0, 1, 0]), b.floats('mu', [3], [0.1, 0.2, 0.3]), b.floats('va', [3], [1, 2, 0.5])],
      { epsilon: 1e-5, spatial: 1 },
    ),
  );
  const m = new GraphBuilder().model({ opset: 17 });
  assert.throws(() => upgradeOpset(m.clone(), 13), /newer than the target/);
  assert.throws(() => upgradeOpset(m.clone(), 30), /cannot upgrade to opset 30/);
  assert.throws(() => upgradeOpset(new GraphBuilder().model({ opset: 6 }), 17), /upgrades start from opset 7/);
  assert.deepEqual(upgradeOpset(m.clone(), 17).adapted, {});
});
