// Dependency groups, one small graph per coupling: removing a channel must give the outputs of the
// unpruned model in which that channel's consumers read zeros (their weights for it set to 0), which
// the tests write by hand per graph. Then ratio 0 (bit-identical) and every zoo model at 50%.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { verifyModel } from '../onnx/verify.js';
import { maxAbsDiff, runModel } from './quant/ort-check.js';
import { applyEdits } from './prune/apply-edits.js';
import { buildDependencyGraph } from './prune/dependency-graph.js';
import { pruneStructured } from './prune-structured.js';
import { bertEncoder } from '../zoo/bert-encoder.js';
import { randomFeeds, zooModels } from '../zoo/index.js';
import { Init } from '../zoo/weights.js';

/** Removes channel `k` of the layer named `source` (and everything coupled to it). */
function removeChannel(model: Model, source: string, k: number): Model {
  const m = model.clone();
  const dg = buildDependencyGraph(m);
  const s = dg.sources.find((x) => x.node.name === source);
  assert.ok(s, `source ${source}`);
  assert.equal(dg.sets.fixed(s.ids[k]!), undefined, 'the channel is prunable');
  applyEdits(m, dg, new Set([dg.sets.find(s.ids[k]!)]));
  verifyModel(m);
  return m;
}

/** The model with `indices` along `axis` of each named weight set to zero. */
function zeroed(model: Model, cuts: { weight: string; axis: number; indices: number[] }[]): Model {
  const m = model.clone();
  for (const c of cuts) {
    const t = m.graph.initializers.get(c.weight)!;
    const v = Float32Array.from(t.toFloat32());
    const inner = t.dims.slice(c.axis + 1).reduce((a, b) => a * b, 1);
    const n = t.dims[c.axis]!;
    for (let i = 0; i < v.length; i++) if (c.indices.includes(Math.floor(i / inner) % n)) v[i] = 0;
    m.graph.initializers.set(c.weight, Tensor.fromFloat32(c.weight, t.dims, v));
  }
  return m;
}

async function assertSame(a: Model, b: Model, shapes: Record<string, number[]>, tol = 1e-5): Promise<void> {
  const feeds = randomFeeds(shapes, 3);
  const ra = await runModel(a, feeds);
  const rb = await runModel(b, feeds);
  for (const [name, v] of Object.entries(ra)) {
    assert.equal(rb[name]!.length, v.length, `${name} keeps its size`);
    const d = maxAbsDiff(v, rb[name]!);
    assert.ok(d <= tol, `${name}: max |diff| ${d}`);
  }
}

function conv(b: GraphBuilder, w: Init, x: string, name: string, ci: number, co: number, k = 3, group = 1): string {
  return b.op(
    'Conv',
    [x, w.weight(`${name}.w`, [co, ci / group, k, k], (ci / group) * k * k), w.small(`${name}.b`, [co], 0.3)],
    { pads: Array(4).fill((k - 1) >> 1), group },
    { name },
  );
}

const IMG = { x: [2, 4, 6, 6] };

test('residual Add: both convs feeding the sum lose the channel', async () => {
  const b = new GraphBuilder();
  const w = new Init(b, 1);
  const a = conv(b, w, b.input('x', DataType.FLOAT, ['n', 4, 6, 6]), 'c1', 4, 8);
  const c2 = conv(b, w, b.op('Relu', [a]), 'c2', 8, 8);
  const s = b.op('Relu', [b.op('Add', [a, c2])]);
  b.output(conv(b, w, s, 'c3', 8, 3, 1));
  const m = b.model();
  const pruned = removeChannel(m, 'c2', 3);
  assert.deepEqual(pruned.graph.initializers.get(pruned.graph.nodes.find((n) => n.name === 'c1')!.inputs[1]!)!.dims, [7, 4, 3, 3]);
  await assertSame(
    pruned,
    zeroed(m, [
      { weight: 'c2.w', axis: 1, indices: [3] },
      { weight: 'c3.w', axis: 1, indices: [3] },
    ]),
    IMG,
  );
});

test('Concat: the right slice of the concatenation, and the BatchNorm after it', async () => {
  const b = new GraphBuilder();
  const w = new Init(b, 2);
  const x = b.input('x', DataType.FLOAT, ['n', 4, 6, 6]);
  const cat = b.op('Concat', [conv(b, w, x, 'ca', 4, 4), conv(b, w, x, 'cb', 4, 6)], { axis: 1 });
  const bn = b.op('BatchNormalization', [
    cat,
    w.small('g', [10], 1),
    w.small('beta', [10], 1),
    w.small('mu', [10], 0.1),
    b.floats('var', [10], new Array(10).fill(1.5)),
  ]);
  b.output(conv(b, w, b.op('Relu', [bn]), 'cc', 10, 3, 1));
  const m = b.model();
  await assertSame(removeChannel(m, 'cb', 2), zeroed(m, [{ weight: 'cc.w', axis: 1, indices: [6] }]), IMG);
});

test('depthwise conv: its group count follows the channels', async () => {
  const b = new GraphBuilder();
  const w = new Init(b, 3);
  const a = conv(b, w, b.input('x', DataType.FLOAT, ['n', 4, 6, 6]), 'c1', 4, 8);
  const dw = conv(b, w, a, 'dw', 8, 8, 3, 8);
  b.output(conv(b, w, b.op('Relu', [dw]), 'c2', 8, 4, 1));
  const m = b.model();
  const pruned = removeChannel(m, 'c1', 5);
  assert.equal(pruned.graph.nodes.find((n) => n.name === 'dw')!.int('group'), 7);
  await assertSame(pruned, zeroed(m, [{ weight: 'c2.w', axis: 1, indices: [5] }]), IMG);
});

test('grouped conv (not depthwise): the group is left alone and the record names the node', async () => {
  const b = new GraphBuilder();
  const w = new Init(b, 4);
  const a = conv(b, w, b.input('x', DataType.FLOAT, ['n', 4, 6, 6]), 'c1', 4, 8);
  b.output(conv(b, w, a, 'g2', 8, 8, 3, 2));
  const { model, record } = await pruneStructured(b.model(), { ratio: 0.5, multiple: 1 });
  const skip = record.skipped.find((s) => s.node === 'c1');
  assert.match(skip?.reason ?? '', /Conv 'g2'.*grouped convolution \(group=2\)/);
  assert.equal(model.graph.initializers.get('c1.w')?.dims[0], 8);
});

test('squeeze-excitation: the gate conv loses the same channel as the gated tensor', async () => {
  const b = new GraphBuilder();
  const w = new Init(b, 5);
  const y = conv(b, w, b.input('x', DataType.FLOAT, ['n', 4, 6, 6]), 'c1', 4, 8);
  const r = b.op('Relu', [conv(b, w, b.op('GlobalAveragePool', [y]), 'se.r', 8, 4, 1)]);
  const gate = b.op('HardSigmoid', [conv(b, w, r, 'se.e', 4, 8, 1)], { alpha: 1 / 6, beta: 0.5 });
  b.output(conv(b, w, b.op('Mul', [y, gate]), 'c2', 8, 4, 1));
  const m = b.model();
  const pruned = removeChannel(m, 'se.e', 2);
  assert.equal(pruned.graph.initializers.get(pruned.graph.nodes.find((n) => n.name === 'c1')!.inputs[1]!)!.dims[0], 7);
  await assertSame(
    pruned,
    zeroed(m, [
      { weight: 'se.r.w', axis: 1, indices: [2] },
      { weight: 'c2.w', axis: 1, indices: [2] },
    ]),
    IMG,
  );
});

test('Flatten and Reshape → Gemm: the feature rows of the channel go, the shape constant is rewritten', async () => {
  for (const flatten of [true, false]) {
    const b = new GraphBuilder();
    const w = new Init(b, 6);
    const a = b.op('Relu', [conv(b, w, b.input('x', DataType.FLOAT, ['n', 4, 3, 3]), 'c1', 4, 4)]);
    const f = flatten ? b.op('Flatten', [a], { axis: 1 }) : b.op('Reshape', [a, b.int64s('shape', [0, 36])]);
    b.output(b.op('Gemm', [f, w.weight('fc.w', [36, 5], 36), w.small('fc.b', [5])], {}, { name: 'fc' }));
    const m = b.model();
    const pruned = removeChannel(m, 'c1', 1);
    if (!flatten)
      assert.deepEqual([...pruned.graph.initializers.get(pruned.graph.nodes.find((n) => n.opType === 'Reshape')!.inputs[1]!)!.toNumbers()], [0, 27]);
    await assertSame(pruned, zeroed(m, [{ weight: 'fc.w', axis: 0, indices: [9, 10, 11, 12, 13, 14, 15, 16, 17] }]), { x: [2, 4, 3, 3] });
  }
});

test('attention heads: Q, K, V and output projections and the head-count constants lose one head', async () => {
  const m = bertEncoder({ layers: 1, hidden: 16, heads: 4, seq: 5, classes: 3 });
  const pruned = removeChannel(m, 'layer0.attn.q', 1 * 4 + 2);
  for (const p of ['q', 'k', 'v'])
    assert.deepEqual(pruned.graph.initializers.get(pruned.graph.nodes.find((n) => n.name === `layer0.attn.${p}`)!.inputs[1]!)!.dims, [16, 12]);
  const split = pruned.graph.nodes.find((n) => n.name === 'layer0.attn.q.reshape')!;
  assert.deepEqual([...pruned.graph.initializers.get(split.inputs[1]!)!.toNumbers()], [0, 0, 3, 4]);
  await assertSame(pruned, zeroed(m, [{ weight: 'layer0.attn.out.weight', axis: 0, indices: [4, 5, 6, 7] }]), { x: [2, 5, 16] });
});

test('FFN neurons: up projection columns, GELU constants and down projection rows', async () => {
  const m = bertEncoder({ layers: 1, hidden: 16, heads: 4, seq: 5, classes: 3 });
  const pruned = removeChannel(m, 'layer0.ffn.up', 9);
  await assertSame(pruned, zeroed(m, [{ weight: 'layer0.ffn.down.weight', axis: 0, indices: [9] }]), { x: [2, 5, 16] });
});

test('ratio 0 leaves every zoo model bit-identical', async () => {
  for (const e of zooModels()) {
    const m = e.build();
    const { model } = await pruneStructured(m, { ratio: 0 });
    const feeds = randomFeeds(e.inputShapes);
    const [a, b] = [await runModel(m, feeds), await runModel(model, feeds)];
    for (const k of Object.keys(a)) assert.equal(maxAbsDiff(a[k]!, b[k]!), 0, `${e.name} ${k}`);
  }
});

test('50% on every zoo model: valid, runs, boundary shapes unchanged, widths rounded to the multiple', async () => {
  for (const e of zooModels()) {
    const m = e.build();
    const { model, record, groups } = await pruneStructured(m, { ratio: 0.5, multiple: 8 });
    verifyModel(model);
    assert.ok(Number(record.stats.removed) > 0, `${e.name} lost channels`);
    for (const g of groups)
      if (g.kept < g.channels && g.channels >= 8 && !e.name.startsWith('bert')) assert.equal(g.kept % 8, 0, `${e.name} ${g.sources[0]} kept ${g.kept}`);
    const feeds = randomFeeds(e.inputShapes);
    const [a, b] = [await runModel(m, feeds), await runModel(model, feeds)];
    for (const k of Object.keys(a)) assert.equal(b[k]!.length, a[k]!.length, `${e.name} ${k}`);
    assert.deepEqual(
      model.graph.outputs.map((o) => o.type),
      m.graph.outputs.map((o) => o.type),
    );
  }
});

test('per-layer ratios: only the named layer group is pruned, by its own ratio', async () => {
  const m = zooModels()
    .find((e) => e.name === 'resnet-tiny')!
    .build();
  const { groups } = await pruneStructured(m, { ratio: 0, multiple: 1, layerRatios: ['stage2.block0.conv1=0.25'] });
  const changed = groups.filter((g) => g.kept < g.channels);
  assert.deepEqual(
    changed.map((g) => [g.sources, g.kept]),
    [[['stage2.block0.conv1'], 24]],
  );
  await assert.rejects(() => pruneStructured(m, { layerRatios: ['nope=0.5'] }), /no layer named 'nope'/);
});

test('wide scope: the ratio only in the groups at least half as wide as the widest prunable one', async () => {
  const m = zooModels()
    .find((e) => e.name === 'resnet-tiny')!
    .build();
  const { groups } = await pruneStructured(m, { ratio: 0.5, multiple: 1, scope: 'wide' });
  // widths 8, 8, 16, 16, 32, 32 and the 10 classifier outputs (fixed): 16 and over lose half
  assert.deepEqual(
    groups.map((g) => [g.channels, g.kept]),
    [
      [8, 8],
      [8, 8],
      [16, 8],
      [16, 8],
      [32, 16],
      [32, 16],
      [10, 10],
    ],
  );
  // excluding the widest groups makes the 16s the widest: the 8s are now wide
  const ex = groups.filter((g) => g.channels === 32).flatMap((g) => g.sources);
  const r = await pruneStructured(m, { ratio: 0.5, multiple: 1, scope: 'wide', exclude: ex });
  assert.deepEqual(
    r.groups.map((g) => g.kept),
    [4, 4, 8, 8, 32, 32, 10],
  );
});

test('taylor importance: |Σ w·g| per channel slice; required only when something is removed', async () => {
  const { taylorNorms } = await import('./prune/importance.js');
  // w, g [2, 3] along axis 0: |1·1 + 2·(−1) + 3·0| = 1, |4·1 + 5·1 + 6·1| = 15
  assert.deepEqual([...taylorNorms(Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(1, -1, 0, 1, 1, 1), [2, 3], 0)], [1, 15]);
  const m = zooModels()[0]!.build();
  await assert.rejects(() => pruneStructured(m, { ratio: 0.5, method: 'taylor' }), /needs the loss gradients/);
  const zero = new Map([...m.graph.initializers].map(([k, t]) => [k, new Float32Array(t.size)]));
  const { record } = await pruneStructured(m, { ratio: 0.5, method: 'taylor' }, { gradients: zero });
  assert.ok(Number(record.stats.removed) > 0);
});

test('in a chain, method taylor ranks by the gradients on ctx.trainData: units with no path to the output go first', async () => {
  const { pruneStructuredPass } = await import('./prune-structured.js');
  const { needsTrainingContext } = await import('../search/space.js');
  // hidden units 0–3 have large input weights and zero output weights (dead: L1 keeps them, Taylor scores 0)
  const w1 = new Float32Array(4 * 8);
  const w2 = new Float32Array(8 * 3);
  for (let i = 0; i < 4; i++) for (let k = 0; k < 8; k++) w1[i * 8 + k] = (k < 4 ? 3 : 0.3) * (((i + k) % 3) - 1 || 0.5);
  for (let k = 4; k < 8; k++) for (let c = 0; c < 3; c++) w2[k * 3 + c] = ((k + c) % 2 ? 1 : -1) * (0.5 + 0.1 * c);
  const b = new GraphBuilder();
  const h = b.op('Relu', [b.op('MatMul', [b.input('x', DataType.FLOAT, ['n', 4]), b.floats('w1', [4, 8], w1)], {}, { name: 'up' })]);
  b.output(b.op('MatMul', [h, b.floats('w2', [8, 3], w2)], {}, { name: 'down', outputs: ['y'] }));
  const model = b.model();
  const x = Float32Array.from({ length: 32 * 4 }, (_, i) => Math.sin(i * 1.7) * 2);
  const params = { ratio: 0.5, method: 'taylor', multiple: 1 } as const;
  assert.equal(needsTrainingContext(pruneStructuredPass, params), true);
  assert.equal(needsTrainingContext(pruneStructuredPass, { ratio: 0.5 }), false);
  await assert.rejects(pruneStructuredPass.run(model, params, {}), /needs training samples/);
  const r = await pruneStructuredPass.run(model, params, { trainData: { x, sampleShape: [4] } });
  const up = r.model.graph.nodes.find((n) => n.name === 'up')!;
  assert.equal(r.model.graph.initializers.get(up.inputs[1]!)!.dims[1], 4);
  await assertSame(model, r.model, { x: [5, 4] }, 1e-6); // only the dead units went
  const l1 = await pruneStructuredPass.run(model, { ratio: 0.5, method: 'l1', multiple: 1 }, {});
  const y = await runModel(model, randomFeeds({ x: [5, 4] }, 3));
  const yl1 = await runModel(l1.model, randomFeeds({ x: [5, 4] }, 3));
  assert.ok(maxAbsDiff(Object.values(y)[0]!, Object.values(yl1)[0]!) > 0.1, 'L1 keeps the dead units and removes live ones');
});
