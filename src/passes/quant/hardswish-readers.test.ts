import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import type { Graph } from '../../onnx/graph.js';
import type { Model } from '../../onnx/model.js';
import { Tensor } from '../../onnx/tensor.js';
import { randomFeeds } from '../../zoo/index.js';
import type { Feeds } from '../pass.js';
import { quantizeStatic } from '../quantize-static.js';
import { hardSwishRange, quantizeHardSwishReaders, uint8Params } from './hardswish-readers.js';
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

interface StageOpts {
  /** the scalar Mul after the HardSwish (null: none) */
  gain?: number | null;
  /** what the HardSwish's place holds ('HardSwish' or any other unary op) */
  act?: string;
  /** the DQ's zero point type and scale shape */
  zpType?: number;
  perChannelScale?: boolean;
  /** the gate's producer, and whether the pool's output goes to a Q */
  gateOp?: string;
  poolQ?: boolean;
  extraReader?: string;
  valueIsOutput?: boolean;
}

/** x → Q → DQ(scale 0.04, zp 100) → HardSwish → Mul(gain) → Add(0.25) = v; v → GAP → Q → DQ; v · gate(g) → Q → DQ. */
function stageGraph(o: StageOpts = {}): { g: Graph; v: string } {
  const b = new GraphBuilder('stage');
  const x = b.input('x', DataType.FLOAT, [1, 4, 3, 3]);
  const gIn = b.input('g', DataType.FLOAT, [1, 4, 1, 1]);
  const zpType = o.zpType ?? DataType.UINT8;
  const s = o.perChannelScale ? b.floats('s', [4], [0.04, 0.04, 0.04, 0.04]) : b.scalar('s', 0.04);
  const z = b.constant('z', Tensor.scalar('z', zpType, zpType === DataType.UINT8 ? 100 : 10));
  const d = b.op('DequantizeLinear', [b.op('QuantizeLinear', [x, s, z]), s, z]);
  const h = b.op(o.act ?? 'HardSwish', [d]);
  const scaled = o.gain === null ? h : b.op('Mul', [b.scalar('gain', o.gain ?? 1.5), h]);
  const v = b.op('Add', [scaled, b.scalar('bias', 0.25)]);
  const [qs, qz] = [b.scalar('qs', 0.02), b.constant('qz', Tensor.scalar('qz', DataType.UINT8, 128))];
  const out = (t: string, name: string) => b.output(b.op('DequantizeLinear', [b.op('QuantizeLinear', [t, qs, qz]), qs, qz], {}, { outputs: [name] }));
  const pooled = b.op('GlobalAveragePool', [v]);
  if (o.poolQ === false) b.output(b.op('Relu', [pooled], {}, { outputs: ['y1'] }));
  else out(pooled, 'y1');
  out(b.op('Mul', [v, b.op(o.gateOp ?? 'HardSigmoid', [gIn])]), 'y2');
  if (o.extraReader) b.output(b.op(o.extraReader, [v], {}, { outputs: ['y3'] }));
  if (o.valueIsOutput) b.output(v);
  return { g: b.model({ opset: 14 }).graph, v };
}

const qOf = (g: Graph, value: string) => g.nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === value);

test('a HardSwish stage gets a Q/DQ on its value from the computed range, and one at 1/255 on its gate, in graph order', () => {
  const { g, v } = stageGraph();
  const r = quantizeHardSwishReaders(g, g.namer());
  assert.equal(r.chains, 1);
  assert.deepEqual(r.readers.map((n) => n.opType).sort(), ['GlobalAveragePool', 'Mul']);
  // x codes 0..255 at scale 0.04, zero point 100: x in [−4, 6.2]; HardSwish in [−0.375, 6.2]; × 1.5 + 0.25
  const want = uint8Params(-0.375 * 1.5 + 0.25, 6.2 * 1.5 + 0.25);
  const q = qOf(g, v)!;
  const num = (n: string) => g.initializers.get(n)!.toNumbers()[0];
  assert.equal(num(q.inputs[1]!), want.scale);
  assert.equal(num(q.inputs[2]!), want.zp);
  const gate = g.nodes.find((n) => n.opType === 'HardSigmoid')!.outputs[0]!;
  const gq = qOf(g, gate)!;
  assert.equal(num(gq.inputs[1]!), Math.fround(1 / 255));
  assert.equal(num(gq.inputs[2]!), 0);
  // every input is written before it is read
  const seen = new Set([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  for (const n of g.nodes) {
    for (const i of n.inputs) assert.ok(!i || seen.has(i), `${n.opType} reads ${i} before it is written`);
    for (const o of n.outputs) seen.add(o);
  }
  // the readers read the DQ, not the float value
  for (const n of r.readers) assert.ok(!n.inputs.includes(v) && !n.inputs.includes(gate));
});

test('a stage is left alone unless every reader goes int8 and the input DQ is per-tensor uint8', () => {
  const cases: [string, StageOpts][] = [
    ['a reader with no int8 kernel', { extraReader: 'Relu' }],
    ['a pool whose output is not quantized', { poolQ: false }],
    ['a gate that is not HardSigmoid or Sigmoid', { gateOp: 'Tanh' }],
    ['the value is a graph output', { valueIsOutput: true }],
    ['a negative scale', { gain: -1.5 }],
    ['a zero scale', { gain: 0 }],
    ['not a HardSwish', { act: 'Relu' }],
    ['an int8 zero point', { zpType: DataType.INT8 }],
    ['per-channel scales', { perChannelScale: true }],
  ];
  for (const [why, o] of cases) {
    const { g } = stageGraph(o);
    const before = g.nodes.length;
    assert.equal(quantizeHardSwishReaders(g, g.namer()).chains, 0, why);
    assert.equal(g.nodes.length, before, why);
  }
  const { g } = stageGraph({ gateOp: 'Sigmoid' });
  assert.equal(quantizeHardSwishReaders(g, g.namer()).chains, 1, 'a Sigmoid gate lies in [0, 1] too');
  const plain = stageGraph({ gain: null });
  assert.equal(quantizeHardSwishReaders(plain.g, plain.g.namer()).chains, 1, 'no scalar Mul: the bias alone');
  const q = qOf(plain.g, plain.v)!;
  const want = uint8Params(-0.375 + 0.25, 6.2 + 0.25);
  assert.equal(plain.g.initializers.get(q.inputs[1]!)!.toNumbers()[0], want.scale);
});
