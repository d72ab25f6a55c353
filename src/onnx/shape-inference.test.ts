import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { GraphBuilder } from './builder.js';
import { DataType, dtypeName } from './dtype.js';
import * as ort from 'onnxruntime-node';
import { Graph, Node, attr } from './graph.js';
import { Tensor } from './tensor.js';
import { readModel } from './read-model.js';
import { inferShapes } from './shape-inference.js';
import { PADDLE, floatFeed, runOnce } from './test-models.js';

// The reference is ONNX Runtime itself: every intermediate value is made a graph output, the model is
// run on a concrete input, and each inferred shape must equal the shape ORT produced.
for (const [name, m] of Object.entries(PADDLE)) {
  test(`PaddleOCR ${name}: inferred shapes equal ORT's for every intermediate value`, async () => {
    const model = readModel(m.path);
    const inf = inferShapes(model, { inputShapes: { x: [...m.shape] } });
    assert.deepEqual([...inf.unknownOps], []);
    const g = model.graph;
    const names = g.nodes
      .filter((n) => n.opType !== 'Constant')
      .flatMap((n) => n.outputs)
      .filter((o) => o && !g.outputs.some((x) => x.name === o));
    for (const o of names) g.outputs.push({ name: o });
    const out = await runOnce(model, { x: floatFeed(m.shape) }, { optimize: false });
    let checked = 0;
    for (const [o, t] of Object.entries(out)) {
      const got = inf.types.get(o);
      assert.ok(got, `no type inferred for ${o}`);
      assert.deepEqual(got.shape, [...t.dims], `shape of ${o}`);
      assert.equal(dtypeName(got.elemType), t.type, `type of ${o}`);
      checked++;
    }
    assert.ok(checked > 100);
  });
}

test('symbolic dims flow through convs and Shape → Gather → Concat → Reshape', () => {
  const model = readModel(PADDLE.rec.path);
  const inf = inferShapes(model);
  const [batch, , , width] = model.graph.inputs[0]!.type!.kind === 'tensor' ? model.graph.inputs[0]!.type!.shape! : [];
  const out = inf.types.get(model.graph.outputs[0]!.name)!;
  assert.equal(out.elemType, DataType.FLOAT);
  assert.equal(out.shape!.length, 3);
  assert.equal(out.shape![0], batch);
  assert.equal(out.shape![2], 6625);
  assert.equal(typeof width, 'string');
});

function single(build: (b: GraphBuilder, x: string) => string, shape: (number | string)[], opset = 17) {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, shape);
  const y = build(b, x);
  b.output(y);
  const m = b.model({ opset });
  return inferShapes(m).types.get(y);
}

test('rules: pools with auto_pad and ceil_mode, Gemm, Flatten, Split, Slice, Pad, Resize, Reduce, MatMul broadcasting', () => {
  const w = (b: GraphBuilder) => b.floats('w', [8, 3, 3, 3], new Float32Array(216));
  assert.deepEqual(single((b, x) => b.op('Conv', [x, w(b)], { strides: [2, 2], auto_pad: 'SAME_UPPER' }), ['N', 3, 15, 16])?.shape, ['N', 8, 8, 8]);
  assert.deepEqual(single((b, x) => b.op('Conv', [x, w(b)], { pads: [1, 1, 1, 1], dilations: [2, 2] }), [1, 3, 10, 10])?.shape, [1, 8, 8, 8]);
  assert.deepEqual(single((b, x) => b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }), [1, 3, 8, 8])?.shape, [1, 3, 4, 4]);
  assert.deepEqual(single((b, x) => b.op('AveragePool', [x], { kernel_shape: [3, 3], strides: [2, 2] }), [1, 3, 8, 8])?.shape, [1, 3, 3, 3]);
  assert.deepEqual(single((b, x) => b.op('Gemm', [x, b.floats('g', [5, 4], new Float32Array(20))], { transB: 1 }), ['B', 4])?.shape, ['B', 5]);
  assert.deepEqual(single((b, x) => b.op('Flatten', [x], { axis: 2 }), [2, 3, 4, 5])?.shape, [6, 20]);
  assert.deepEqual(single((b, x) => b.opN('Split', [x, b.int64s('s', [1, 3])], { axis: 1 }, { outputs: 2 })[1]!, [2, 4])?.shape, [2, 3]);
  assert.deepEqual(single((b, x) => b.op('Slice', [x, b.int64s('st', [1, -3]), b.int64s('en', [1000, -1]), b.int64s('ax', [1, 2])]), ['N', 10, 10])?.shape, [
    'N',
    9,
    2,
  ]);
  assert.deepEqual(
    single((b, x) => b.op('Slice', [x, b.int64s('st', [-1]), b.int64s('en', [-1000]), b.int64s('ax', [0]), b.int64s('sp', [-2])]), [7])?.shape,
    [4],
  );
  assert.deepEqual(single((b, x) => b.op('Pad', [x, b.int64s('p', [0, 1, 0, 2])]), [3, 4])?.shape, [3, 7]);
  assert.deepEqual(single((b, x) => b.op('Resize', [x, '', b.floats('sc', [4], [1, 1, 2, 2])], { mode: 'nearest' }), ['N', 3, 5, 6])?.shape, ['N', 3, 10, 12]);
  assert.deepEqual(single((b, x) => b.op('ReduceMean', [x], { axes: [-1], keepdims: 0 }), ['N', 3, 5], 13)?.shape, ['N', 3]);
  assert.deepEqual(single((b, x) => b.op('ReduceSum', [x, b.int64s('a', [1])]), ['N', 3, 5])?.shape, ['N', 1, 5]);
  assert.deepEqual(single((b, x) => b.op('MatMul', [x, b.floats('m', [1, 5, 2], new Float32Array(10))]), ['N', 4, 3, 5])?.shape, ['N', 4, 3, 2]);
  assert.deepEqual(single((b, x) => b.op('Add', [x, b.floats('bb', [3, 1], [1, 2, 3])]), ['N', 1, 4])?.shape, ['N', 3, 4]);
  assert.deepEqual(single((b, x) => b.op('Transpose', [x], { perm: [0, 2, 1] }), ['N', 3, 4])?.shape, ['N', 4, 3]);
  assert.deepEqual(single((b, x) => b.op('Squeeze', [x], { axes: [1] }), ['N', 1, 4], 11)?.shape, ['N', 4]);
  assert.deepEqual(single((b, x) => b.op('Unsqueeze', [x, b.int64s('u', [0, 3])]), [2, 4])?.shape, [1, 2, 4, 1]);
  assert.deepEqual(single((b, x) => b.op('Reshape', [x, b.int64s('r', [0, -1])]), ['N', 3, 4])?.shape, ['N', 12]);
  assert.deepEqual(single((b, x) => b.op('Expand', [x, b.int64s('e', [2, 1, 4])]), [3, 1])?.shape, [2, 3, 4]);
  assert.deepEqual(
    single((b, x) => b.op('ConvTranspose', [x, b.floats('ct', [3, 2, 2, 2], new Float32Array(24))], { strides: [2, 2] }), [1, 3, 5, 5])?.shape,
    [1, 2, 10, 10],
  );
  assert.deepEqual(single((b, x) => b.op('ConstantOfShape', [b.op('Shape', [x])]), ['N', 2])?.shape, ['N', 2]);
  const q = single((b, x) => b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, b.scalar('s', 0.1), b.scalar('z', 0, DataType.INT8)]), 's', 'z']), ['N', 2]);
  assert.deepEqual(q, { elemType: DataType.FLOAT, shape: ['N', 2] });
  const nb = single(
    (b, x) =>
      b.op(
        'MatMulNBits',
        [x, b.constant('qb', Tensor.fromNumbers('qb', DataType.UINT8, [32, 2, 16], new Uint8Array(1024)))],
        { K: 64, N: 32, bits: 4, block_size: 32 },
        { domain: 'com.microsoft' },
      ),
    ['N', 7, 64],
  );
  assert.deepEqual(nb?.shape, ['N', 7, 32]);
});

test('unknown ops and broken attributes leave outputs unknown without throwing', () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const u = b.op('Frobnicate', [x], {}, { domain: 'com.example' });
  const r = b.op('Relu', [u]);
  const t = b.op('Transpose', [x], { perm: [5, 9] });
  b.graph.nodes.push(new Node('Conv', [x, 'missing'], ['c'], 'conv'));
  b.output(r);
  b.output(t);
  const m = b.model({ extraOpsets: { 'com.example': 1 } });
  const inf = inferShapes(m, { write: true });
  assert.ok(inf.unknownOps.has('com.example.Frobnicate'));
  assert.equal(inf.types.get(u), undefined);
  assert.deepEqual(inf.types.get(r), { elemType: DataType.FLOAT, shape: undefined }); // only what the output declares
  assert.deepEqual(inf.types.get(t)?.shape, [undefined, undefined]);
  assert.equal(inf.types.get('c')?.elemType, DataType.FLOAT);
  assert.ok(m.graph.valueInfo.has('c'));
});

test('If and Loop outputs come from their subgraphs, and ORT agrees', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  const m = b.input('m', DataType.INT64, []);
  const body = new Graph('body');
  body.inputs.push(
    { name: 'i', type: { kind: 'tensor', elemType: DataType.INT64, shape: [] } },
    { name: 'c', type: { kind: 'tensor', elemType: DataType.BOOL, shape: [] } },
    { name: 'v', type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [2] } },
  );
  body.nodes.push(new Node('Identity', ['c'], ['c_out']), new Node('Add', ['v', x], ['v_out']), new Node('Identity', ['v'], ['scan']));
  body.outputs.push(
    { name: 'c_out', type: { kind: 'tensor', elemType: DataType.BOOL, shape: [] } },
    { name: 'v_out', type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [2] } },
    { name: 'scan', type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [2] } },
  );
  b.graph.nodes.push(new Node('Loop', [m, '', x], ['final', 'scans'], 'loop', '', { body: attr.graph(body) }));
  b.output('final');
  b.output('scans');
  const model = b.model();
  const inf = inferShapes(model);
  assert.deepEqual([...inf.unknownOps], []);
  assert.deepEqual(inf.types.get('final'), { elemType: DataType.FLOAT, shape: [2] });
  assert.deepEqual(inf.types.get('scans'), { elemType: DataType.FLOAT, shape: [undefined, 2] });
  const out = await runOnce(model, { x: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]), m: new ort.Tensor('int64', BigInt64Array.from([3n]), []) });
  assert.deepEqual([...out.final!.dims], [2]);
  assert.deepEqual([...out.scans!.dims].slice(1), [2]);
});
