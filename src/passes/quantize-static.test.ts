import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { EdgefitError } from '../onnx/errors.js';
import { Node, attr } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { mlp, mobilenetV3, randomFeeds, resnetCnn } from '../zoo/index.js';
import type { Feeds } from './pass.js';
import { quantizeStatic, quantizeStaticPass } from './quantize-static.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-qs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function stream(shapes: Record<string, number[]>, batches = 3): () => AsyncIterable<Feeds> {
  return async function* () {
    for (let i = 0; i < batches; i++) yield randomFeeds(shapes, i + 1) as unknown as Feeds;
  };
}

/** ORT's optimized graph of a model, as op-type counts. */
async function optimizedOps(m: Model, name: string): Promise<Record<string, number>> {
  const path = join(dir, `${name}.opt.onnx`);
  const s = await createSession(m, { optimizedModelPath: path });
  await s.release();
  const counts: Record<string, number> = {};
  for (const n of readModel(path).graph.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
  return counts;
}

async function cosine(a: Model, b: Model, shapes: Record<string, number[]>): Promise<number> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(randomFeeds(shapes, 99))) feeds[k] = new ort.Tensor('float32', v.data, v.dims);
  const run = async (m: Model) => {
    const s = await createSession(m);
    const out = (await s.run(feeds))[s.outputNames[0]!]!.data as Float32Array;
    await s.release();
    return out;
  };
  const [x, y] = [await run(a), await run(b)];
  let dot = 0;
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < x.length; i++) {
    dot += x[i]! * y[i]!;
    nx += x[i]! ** 2;
    ny += y[i]! ** 2;
  }
  return dot / Math.sqrt(nx * ny);
}

test('ResNet-style CNN: every Conv, the Adds and the pooling fuse into QLinear kernels; no float Conv left', async () => {
  const shapes = { x: [2, 3, 32, 32] };
  const m = resnetCnn({ imageSize: 32, widths: [8, 16, 32] });
  const convs = m.graph.nodes.filter((n) => n.opType === 'Conv').length;
  const adds = m.graph.nodes.filter((n) => n.opType === 'Add').length;
  const { model, record } = await quantizeStaticPass.run(m, { method: 'minmax', perChannel: true }, { calibration: stream(shapes) });
  const ops = await optimizedOps(model, 'resnet');
  assert.equal(ops.QLinearConv, convs, JSON.stringify(ops));
  assert.equal(ops.Conv ?? 0, 0, 'a Conv left in float would dequantize its weights every run');
  assert.equal(ops.QLinearAdd, adds);
  assert.equal(ops.QLinearGlobalAveragePool, 1);
  assert.equal(ops.QGemm, 1);
  assert.equal(ops.QuantizeLinear, 1, `only the input is converted: ${JSON.stringify(ops)}`);
  assert.equal(ops.DequantizeLinear ?? 0, 0, 'the logits leave QGemm in float: no requantization of the model output');
  assert.equal(record.stats['quantized.Conv'], convs);
  assert.ok((record.stats.foldedActivations as number) > 0, 'Relu after Conv is folded into the output range');
  assert.ok((await cosine(m, model, shapes)) >= quantizeStaticPass.tolerance.value);
});

test('MLP (MatMul + Add + Relu): QLinearMatMul per output column, within tolerance', async () => {
  const shapes = { x: [4, 64] };
  const m = mlp({ sizes: [64, 128, 10] });
  const { model } = await quantizeStaticPass.run(m, {}, { calibration: stream(shapes) });
  const ops = await optimizedOps(model, 'mlp');
  assert.equal(ops.QLinearMatMul, 2, JSON.stringify(ops));
  assert.equal(ops.MatMul ?? 0, 0);
  const dq = model.graph.nodes.filter((n) => n.opType === 'DequantizeLinear' && n.int('axis') === 1);
  assert.equal(dq.length, 2, 'per-channel weights along the output columns');
  assert.ok((await cosine(m, model, shapes)) >= 0.98);
});

test('per-tensor weights also fuse, and every calibration method gives a model within tolerance', async () => {
  const shapes = { x: [2, 3, 32, 32] };
  const m = resnetCnn({ imageSize: 32, widths: [8, 16, 32] });
  for (const method of ['percentile', 'entropy'] as const) {
    const { model } = await quantizeStaticPass.run(m, { method, perChannel: false }, { calibration: stream(shapes) });
    assert.ok(!model.graph.nodes.some((n) => n.opType === 'DequantizeLinear' && n.attr('axis')), 'no per-axis DQ');
    const c = await cosine(m, model, shapes);
    assert.ok(c >= 0.95, `${method}: cosine ${c}`);
  }
});

test('excluded nodes and ops without int8 kernels stay float and are listed with a reason', async () => {
  const shapes = { x: [2, 3, 32, 32] };
  const m = mobilenetV3({ imageSize: 32 });
  const first = m.graph.nodes.find((n) => n.opType === 'Conv')!.name;
  const r = await quantizeStatic(m, { exclude: [first, 'Gemm'] }, { calibration: stream(shapes, 2) });
  const reasons = new Map(r.record.skipped.map((s) => [s.node, s.reason]));
  assert.match(reasons.get(first) ?? '', /excluded/);
  const gemm = m.graph.nodes.find((n) => n.opType === 'Gemm')!.name;
  assert.match(reasons.get(gemm) ?? '', /excluded/);
  const hs = r.record.skipped.find((s) => s.opType === 'HardSwish');
  assert.ok(hs && /no int8 kernel/.test(hs.reason), 'HardSwish is left float and reported');
  assert.ok(!r.quantized.includes(first));
  const ops = await optimizedOps(r.model, 'mbv3');
  assert.ok((ops.QLinearConv ?? 0) > 0);
  assert.ok((await cosine(m, r.model, shapes)) > 0.95);
});

test('weights held in Constant nodes (as older exporters write them) are quantized too', async () => {
  const b = new GraphBuilder('const-weights');
  const x = b.input('x', DataType.FLOAT, ['n', 16]);
  const w = Tensor.fromNumbers(
    'w',
    DataType.FLOAT,
    [16, 8],
    Array.from({ length: 128 }, (_, i) => Math.sin(i)),
  );
  b.graph.nodes.push(new Node('Constant', [], ['w_const'], 'w_node', '', { value: attr.tensor(w) }));
  const y = b.op('MatMul', [x, 'w_const'], {}, { name: 'mm' });
  b.output(b.op('Relu', [y], {}, { outputs: ['y'] }), DataType.FLOAT, ['n', 8]);
  const m = b.model({ opset: 13 });
  const r = await quantizeStatic(m, {}, { calibration: stream({ x: [64, 16] }) });
  assert.ok(r.quantized.includes('mm'));
  assert.equal((await optimizedOps(r.model, 'const')).QLinearMatMul, 1);
  const c = await cosine(m, r.model, { x: [4, 16] });
  assert.ok(c > 0.98, `cosine ${c}`);
});

test('without calibration data the pass fails with a hint, not a crash', async () => {
  await assert.rejects(
    quantizeStatic(mlp({ sizes: [8, 4] }), {}, {}),
    (e: unknown) => e instanceof EdgefitError && /calibration/.test(e.message) && /--calibration/.test(e.hint ?? ''),
  );
});

test('int64 shape arithmetic is never quantized', async () => {
  const b = new GraphBuilder('shapes');
  const x = b.input('x', DataType.FLOAT, ['n', 4, 4]);
  const shp = b.op('Shape', [x]);
  const two = b.op('Concat', [b.op('Slice', [shp, b.int64s('s', [0]), b.int64s('e', [1])]), b.int64s('m1', [-1])], { axis: 0 });
  const flat = b.op('Reshape', [x, two]);
  const y = b.op('MatMul', [
    flat,
    b.floats(
      'w',
      [16, 3],
      Array.from({ length: 48 }, (_, i) => Math.cos(i)),
    ),
  ]);
  b.output(b.op('Identity', [y], {}, { outputs: ['y'] }), DataType.FLOAT, ['n', 3]);
  const m = b.model({ opset: 13 });
  // folding off: it would resolve the shape chain to a constant before quantization sees it
  const r = await quantizeStatic(m, { foldExporterHabits: false }, { calibration: stream({ x: [64, 4, 4] }) });
  const concat = r.model.graph.nodes.find((n) => n.opType === 'Concat')!;
  assert.ok(
    concat.inputs.every((i) => !i.includes('dequantized')),
    'Concat of int64 shapes untouched',
  );
  const c = await cosine(m, r.model, { x: [2, 4, 4] });
  assert.ok(c > 0.98, `cosine ${c}`);
});

test("scope 'pointwise' keeps depthwise, spatial and squeeze-excite convs and elementwise ops float", async () => {
  const shapes = { x: [2, 3, 32, 32] };
  const m = mobilenetV3({ imageSize: 32 });
  const r = await quantizeStatic(m, { scope: 'pointwise' }, { calibration: stream(shapes, 2) });
  const byName = new Map(m.graph.nodes.map((n) => [n.name, n]));
  const q = r.quantized.map((name) => byName.get(name)!);
  assert.ok(q.some((n) => n.opType === 'Conv'));
  for (const n of q.filter((n) => n.opType === 'Conv')) {
    assert.equal(n.int('group', 1), 1, `${n.name} is grouped`);
    assert.deepEqual(n.ints('kernel_shape'), [1, 1], `${n.name} is spatial`);
    assert.doesNotMatch(n.name, /\.se\./, `${n.name} is a squeeze-excite conv`);
  }
  assert.ok(
    q.every((n) => ['Conv', 'Gemm', 'MatMul', 'Relu', 'Clip'].includes(n.opType)),
    'no elementwise op in int8',
  );
  assert.ok(r.record.skipped.some((s) => /depthwise/.test(s.reason)));
  assert.ok((await cosine(m, r.model, shapes)) > 0.98);
});

test('an opset-10 model is upgraded to 13 before Q/DQ (Clip bounds as inputs), and runs', async () => {
  const b = new GraphBuilder('old');
  const x = b.input('x', DataType.FLOAT, ['n', 8]);
  const y = b.op(
    'MatMul',
    [
      x,
      b.floats(
        'w',
        [8, 8],
        Array.from({ length: 64 }, (_, i) => Math.sin(i)),
      ),
    ],
    {},
    { name: 'mm' },
  );
  b.output(b.op('Clip', [y], { min: 0, max: 6 }, { outputs: ['y'], name: 'clip' }), DataType.FLOAT, ['n', 8]);
  const m = b.model({ opset: 10 });
  const r = await quantizeStatic(m, {}, { calibration: stream({ x: [32, 8] }) });
  assert.ok((r.model.opset('') ?? 0) >= 13);
  assert.ok(r.record.notes.some((n) => /upgraded opset 10 → 13/.test(n)));
  assert.equal(r.record.stats.foldedActivations, 1, 'Clip(0, 6) folded into the MatMul output range');
  assert.equal((await optimizedOps(r.model, 'old')).QLinearMatMul, 1);
});

test('Gemm with transB and a scalar bias: per-channel int32 bias, fused to QGemm, outputs close', async () => {
  const b = new GraphBuilder('gemm');
  const x = b.input('x', DataType.FLOAT, ['n', 16]);
  const w = b.floats(
    'w',
    [6, 16],
    Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.7) * (1 + (i % 6))),
  );
  const y = b.op('Gemm', [x, w, b.scalar('c', 0.5)], { transB: 1 }, { name: 'fc' });
  b.output(b.op('Identity', [y], {}, { outputs: ['y'] }), DataType.FLOAT, ['n', 6]);
  const m = b.model({ opset: 13 });
  const r = await quantizeStatic(m, {}, { calibration: stream({ x: [64, 16] }) });
  const biasDq = r.model.graph.nodes.find((n) => n.opType === 'DequantizeLinear' && n.outputs[0]!.startsWith('c_'));
  assert.ok(biasDq && r.model.graph.initializers.get(biasDq.inputs[0]!)!.dims[0] === 6, 'bias expanded to one int32 per output column');
  assert.equal((await optimizedOps(r.model, 'gemm')).QGemm, 1);
  const c = await cosine(m, r.model, { x: [4, 16] });
  assert.ok(c > 0.99, `cosine ${c}`);
});

test('a range read only by HardSwish / HardSigmoid is narrowed to where they are not flat', async () => {
  // x → Conv (outputs far below −3) → HardSwish → Conv → HardSigmoid → y
  const b = new GraphBuilder('narrow');
  const x = b.input('x', DataType.FLOAT, ['n', 4, 6, 6]);
  const w = (name: string, dims: number[], k: number) =>
    b.floats(
      name,
      dims,
      Array.from({ length: dims.reduce((a, d) => a * d, 1) }, (_, i) => k * Math.sin(i * 0.9 + 0.3)),
    );
  const c1 = b.op('Conv', [x, w('w1', [8, 4, 1, 1], 6)], { kernel_shape: [1, 1] }, { name: 'c1', outputs: ['c1_out'] });
  const hs = b.op('HardSwish', [c1], {}, { name: 'hs' });
  const c2 = b.op('Conv', [hs, w('w2', [4, 8, 1, 1], 1)], { kernel_shape: [1, 1] }, { name: 'c2', outputs: ['c2_out'] });
  b.output(b.op('HardSigmoid', [c2], { alpha: 0.25, beta: 0.5 }, { outputs: ['y'] }), DataType.FLOAT, ['n', 4, 6, 6]);
  const m = b.model({ opset: 14 });
  const shapes = { x: [8, 4, 6, 6] };
  const minmax = await quantizeStatic(m, {}, { calibration: stream(shapes) });
  const [lo1, hi1] = minmax.ranges.get('c1_out')!;
  assert.equal(lo1, -3, 'HardSwish is 0 below −3');
  assert.ok(hi1 > 3);
  const [lo2, hi2] = minmax.ranges.get('c2_out')!;
  assert.ok(lo2 >= -2 && hi2 <= 2, `HardSigmoid(α 0.25, β 0.5) is flat outside [−2, 2]: ${lo2} ${hi2}`);
  assert.ok(minmax.record.notes.some((n) => /narrowed/.test(n)));
  assert.ok((await cosine(m, minmax.model, { x: [2, 4, 6, 6] })) > 0.999);
});

test('depthwise convs stay float by default (listed with the reason); quantizeDepthwise quantizes them', async () => {
  const shapes = { x: [2, 3, 32, 32] };
  const m = mobilenetV3({ imageSize: 32 });
  const dw = m.graph.nodes.filter((n) => n.opType === 'Conv' && n.int('group', 1) > 1).map((n) => n.name);
  assert.ok(dw.length > 0);
  const r = await quantizeStatic(m, {}, { calibration: stream(shapes, 2) });
  for (const name of dw) {
    assert.ok(!r.quantized.includes(name), `${name} stays float`);
    assert.match(r.record.skipped.find((s) => s.node === name)?.reason ?? '', /depthwise/);
  }
  assert.ok(
    r.quantized.some((n) => m.graph.nodes.find((x) => x.name === n)?.opType === 'Conv'),
    'the other convs are quantized',
  );
  const all = await quantizeStatic(m, { quantizeDepthwise: true }, { calibration: stream(shapes, 2) });
  for (const name of dw) assert.ok(all.quantized.includes(name), `${name} quantized on request`);
});
