import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DataType } from '../onnx/dtype.js';
import { GraphBuilder } from '../onnx/builder.js';
import { Tensor } from '../onnx/tensor.js';
import { bertEncoder, mobilenetV3, randomFeeds, resnetCnn } from '../zoo/index.js';
import { convertFp16 } from './fp16.js';
import { cosine, runModel } from './quant/ort-check.js';

test('fp16: weights become float16, inputs/outputs stay float32, outputs agree (BERT, ResNet, MobileNetV3)', async () => {
  const cases = [
    { m: bertEncoder({ layers: 2, hidden: 64, heads: 4, seq: 16, classes: 3 }), shapes: { x: [2, 16, 64] } },
    { m: resnetCnn({ imageSize: 32, widths: [8, 16] }), shapes: { x: [2, 3, 32, 32] } },
    { m: mobilenetV3({ imageSize: 32 }), shapes: { x: [2, 3, 32, 32] } },
  ];
  for (const { m, shapes } of cases) {
    const { model, record } = await convertFp16(m, {});
    assert.ok(Number(record.stats.initializersConverted) > 0);
    assert.equal(model.graph.inputs[0]!.type?.kind === 'tensor' && model.graph.inputs[0]!.type.elemType, DataType.FLOAT);
    assert.equal(model.graph.outputs[0]!.type?.kind === 'tensor' && model.graph.outputs[0]!.type.elemType, DataType.FLOAT);
    const conv = model.graph.nodes.find((n) => n.opType === 'Conv' || n.opType === 'MatMul')!;
    assert.equal(model.graph.initializers.get(conv.inputs[1]!)!.dataType, DataType.FLOAT16);
    const feeds = randomFeeds(shapes, 3);
    const a = (await runModel(m, feeds)).logits!;
    const b = (await runModel(model, feeds)).logits!;
    assert.ok(cosine(a, b) > 0.999, `${m.graph.name}: cosine ${cosine(a, b)}`);
  }
});

test('fp16: block-listed ops stay float32 with Casts around them, their weights kept float32', async () => {
  const m = bertEncoder({ layers: 1, hidden: 32, heads: 2, seq: 8 });
  const { model, record } = await convertFp16(m, {});
  const ln = model.graph.nodes.filter((n) => n.opType === 'LayerNormalization');
  assert.equal(ln.length, 2);
  for (const n of ln) {
    assert.equal(model.graph.initializers.get(n.inputs[1]!)!.dataType, DataType.FLOAT, 'gamma stays float32');
    const producer = model.graph.nodes.find((p) => p.outputs.includes(n.inputs[0]!))!;
    assert.equal(producer.opType, 'Cast');
    assert.equal(producer.int('to'), DataType.FLOAT);
  }
  assert.ok(record.skipped.some((s) => s.opType === 'Softmax'));
  // an empty block list converts them too
  const all = (await convertFp16(m, { blockList: [] })).model;
  const ln16 = all.graph.nodes.find((n) => n.opType === 'LayerNormalization')!;
  assert.equal(all.graph.initializers.get(ln16.inputs[1]!)!.dataType, DataType.FLOAT16);
  // exclude adds to the block list
  const ex = await convertFp16(m, { exclude: ['MatMul'] });
  const mm = ex.model.graph.nodes.find((n) => n.opType === 'MatMul' && ex.model.graph.initializers.has(n.inputs[1]!))!;
  assert.equal(ex.model.graph.initializers.get(mm.inputs[1]!)!.dataType, DataType.FLOAT);
  assert.ok(ex.record.skipped.some((s) => s.opType === 'MatMul' && /excluded/.test(s.reason)));
});

test('fp16: Constant and Cast(to float) follow the conversion; an initializer read by both sides is duplicated', async () => {
  const b = new GraphBuilder('mixed');
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const w = b.constant('w', Tensor.fromFloat32('w', [3], Float32Array.from([1, 2, 3])));
  const c = b.op('Constant', [], { value: Tensor.fromFloat32('c', [3], Float32Array.from([0.5, 0.5, 0.5])) });
  const i = b.op('Cast', [b.op('Shape', [x])], { to: DataType.FLOAT });
  const y = b.op('Add', [b.op('Mul', [x, w]), c]);
  const s = b.op('Softmax', [b.op('Pow', [y, w])], { axis: -1 });
  b.output(b.op('Mul', [s, b.op('ReduceSum', [i], { keepdims: 0 })], {}, { outputs: ['y'] }));
  const m = b.model();
  // folding off: it would turn the Constant node into an initializer before this test sees it
  const { model } = await convertFp16(m, { foldExporterHabits: false });
  assert.equal(model.graph.initializers.get('w')!.dataType, DataType.FLOAT16);
  const pow = model.graph.nodes.find((n) => n.opType === 'Pow')!;
  assert.equal(model.graph.initializers.get(pow.inputs[1]!)!.dataType, DataType.FLOAT, 'Pow reads a float32 copy of w');
  assert.equal(model.graph.nodes.find((n) => n.opType === 'Constant')!.tensor('value')!.dataType, DataType.FLOAT16);
  const feeds = randomFeeds({ x: [2, 3] }, 1);
  const ref = (await runModel(m, feeds)).y!;
  const got = (await runModel(model, feeds)).y!;
  for (let k = 0; k < ref.length; k++) assert.ok(Math.abs(ref[k]! - got[k]!) < 1e-2 * Math.abs(ref[k]!) + 1e-3, `${ref[k]} vs ${got[k]}`);
});

test('fp16: a node whose weights exceed the float16 range stays float32 and is listed', async () => {
  const b = new GraphBuilder('bn');
  const x = b.input('x', DataType.FLOAT, [1, 2, 4, 4]);
  const f = (n: string, v: number[]) => b.constant(n, Tensor.fromFloat32(n, [2], Float32Array.from(v)));
  const y = b.op('BatchNormalization', [x, f('scale', [1, 2]), f('bias', [0, 1]), f('mean', [0, 3e4]), f('var', [1, 1e8])], { epsilon: 1e-5 }, { name: 'bn' });
  b.output(b.op('Relu', [y], {}, { outputs: ['y'] }));
  const m = b.model();
  const { model, record } = await convertFp16(m, {});
  assert.ok(record.skipped.some((s) => s.node === 'bn' && /float16 range/.test(s.reason)));
  assert.equal(model.graph.initializers.get('var')!.dataType, DataType.FLOAT);
  const feeds = { x: { dims: [1, 2, 4, 4], data: Float32Array.from({ length: 32 }, (_, i) => (i < 16 ? i : 3e4 + i * 1e3)) } };
  assert.ok(cosine((await runModel(m, feeds)).y!, (await runModel(model, feeds)).y!) > 0.9999);
});
