import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { runModel } from '../passes/quant/ort-check.js';
import { entryFeeds, exporterZoo } from '../zoo/index.js';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { foldExporterHabits } from './fold-exporter-habits.js';
import type { Model } from './model.js';
import { verifyModel } from './verify.js';

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);
const zoo = (name: string) => exporterZoo().find((e) => e.name === name)!;

async function sameOutputs(a: Model, b: Model, name: string): Promise<void> {
  const feeds = entryFeeds(zoo(name));
  const [x, y] = [await runModel(a, feeds), await runModel(b, feeds)];
  for (const k of Object.keys(x)) assert.deepEqual(y[k], x[k], `output ${k} bit-identical`);
}

test('torch-style export: Identity-shared biases, Constant nodes, Cast chains and the flatten shape chain are folded, outputs bit-identical', async () => {
  const src = zoo('torch-resnet').build();
  const m = src.clone();
  const r = foldExporterHabits(m);
  verifyModel(m);
  for (const op of ['Identity', 'Constant', 'Cast', 'Shape', 'Gather', 'Unsqueeze', 'Concat']) assert.ok(!ops(m).includes(op), `${op} folded away`);
  // every Conv now reads its weight and bias straight from initializers
  for (const n of m.graph.nodes.filter((x) => x.opType === 'Conv')) assert.ok(m.graph.initializers.has(n.inputs[2]!), `${n.name} bias is an initializer`);
  assert.deepEqual([...m.graph.initializers.get(m.graph.nodes.find((n) => n.opType === 'Reshape')!.inputs[1]!)!.toNumbers()], [0, -1]);
  assert.equal(r.counts['cast-chains'], 1);
  assert.equal(r.counts['cast-same-type'], 2);
  await sameOutputs(src, m, 'torch-resnet');
});

test('tf2onnx-style export: Identity reads removed and the NHWC Transposes around activations cancel; only the boundary ones stay', async () => {
  const src = zoo('tf2onnx-nhwc').build();
  const m = src.clone();
  foldExporterHabits(m);
  verifyModel(m);
  assert.equal(ops(src).filter((o) => o === 'Transpose').length, 6);
  assert.equal(ops(m).filter((o) => o === 'Transpose').length, 2, 'input NHWC→NCHW and the last NCHW→NHWC');
  assert.ok(!ops(m).includes('Identity'));
  await sameOutputs(src, m, 'tf2onnx-nhwc');
});

test('a lossy Cast chain is kept; a Transpose pair that does not cancel becomes one Transpose', async () => {
  const b = new GraphBuilder('casts');
  const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
  const lossy = b.op('Cast', [b.op('Cast', [x], { to: DataType.INT32 })], { to: DataType.FLOAT });
  const t = b.op('Transpose', [b.op('Transpose', [lossy], { perm: [1, 0, 2] })], { perm: [0, 2, 1] });
  b.output(b.op('Identity', [t], {}, { outputs: ['y'] }), DataType.FLOAT, [3, 4, 2]);
  const m = b.model();
  foldExporterHabits(m);
  assert.deepEqual(ops(m), ['Cast', 'Cast', 'Transpose']);
  // x dims (2,3,4) → perm [1,0,2] → (3,2,4) → perm [0,2,1] → (3,4,2): one Transpose with perm [1,2,0]
  assert.deepEqual(m.graph.nodes[2]!.ints('perm'), [1, 2, 0]);
  assert.equal(m.graph.nodes[2]!.outputs[0], 'y', 'the graph output keeps its name');
  const feeds = { x: { dims: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => i * 0.7 - 5) } };
  assert.deepEqual((await runModel(m, feeds)).y, (await runModel(b.model(), feeds)).y);
});

test('a shape chain on a static shape and constant arithmetic become initializers with the right values', () => {
  const b = new GraphBuilder('shapes');
  const x = b.input('x', DataType.FLOAT, [2, 6]);
  const half = b.op('Div', [b.op('Gather', [b.op('Shape', [x]), b.int64s('one', [1])], { axis: 0 }), b.int64s('two', [2])]);
  const dims = b.op('Concat', [b.int64s('lead', [2]), half, b.int64s('k', [2])], { axis: 0 });
  const scale = b.op('Sqrt', [b.op('Mul', [b.floats('a', [1], [2]), b.floats('c', [1], [8])])]);
  b.output(b.op('Mul', [b.op('Reshape', [x, dims]), scale], {}, { outputs: ['y'] }), DataType.FLOAT, [2, 3, 2]);
  const m = b.model();
  foldExporterHabits(m);
  assert.deepEqual(ops(m), ['Reshape', 'Mul']);
  const [reshape, mul] = m.graph.nodes as [(typeof m.graph.nodes)[0], (typeof m.graph.nodes)[0]];
  assert.deepEqual([...m.graph.initializers.get(reshape.inputs[1]!)!.toNumbers()], [2, 3, 2]);
  assert.deepEqual([...m.graph.initializers.get(mul.inputs[1]!)!.toNumbers()], [4]);
});
