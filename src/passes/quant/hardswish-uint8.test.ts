import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import { Node } from '../../onnx/graph.js';
import type { Model } from '../../onnx/model.js';
import { Tensor } from '../../onnx/tensor.js';
import { mobilenetV3, randomFeeds } from '../../zoo/index.js';
import type { Feeds } from '../pass.js';
import { quantizeStatic } from '../quantize-static.js';
import { hardSwishToUint8 } from './hardswish-uint8.js';
import { cosine, optimizedOpCounts, runModel } from './ort-check.js';

const hardSwish = (x: number) => (x * Math.min(6, Math.max(0, x + 3))) / 6;

/** x → Q(sIn) → DQ → HardSwish → [Mul gain] → [Add bias] → Q(sOut, zOut) → DQ → y: one uint8 hop, as quantize-static writes it. */
function hop(sIn: number, zIn: number, sOut: number, zOut: number, bias?: number, gain?: number): Model {
  const b = new GraphBuilder('hop');
  const x = b.input('x', DataType.FLOAT, [256]);
  const u8 = (name: string, v: number) => b.constant(name, Tensor.scalar(name, DataType.UINT8, v));
  const [si, zi, so, zo] = [b.scalar('s_in', sIn), u8('z_in', zIn), b.scalar('s_out', sOut), u8('z_out', zOut)];
  const xq = b.op('QuantizeLinear', [x, si, zi], {}, { name: 'q_in' });
  const xd = b.op('DequantizeLinear', [xq, si, zi], {}, { name: 'dq_in' });
  let h = b.op('HardSwish', [xd], {}, { name: 'hs' });
  if (gain !== undefined) h = b.op('Mul', [b.scalar('gain', gain), h], {}, { name: 'lab_scale' });
  if (bias !== undefined) h = b.op('Add', [h, b.scalar('bias', bias)], {}, { name: 'bias_add' });
  const yq = b.op('QuantizeLinear', [h, so, zo], {}, { name: 'q_out' });
  b.output(b.op('DequantizeLinear', [yq, so, zo], {}, { name: 'dq_out', outputs: ['y'] }), DataType.FLOAT, [256]);
  const m = b.model({ opset: 14 });
  // constants as initializers, as quantize-static leaves them
  for (const n of m.graph.nodes.filter((k) => k.opType === 'Constant')) m.graph.initializers.set(n.outputs[0]!, n.tensor('value')!.withName(n.outputs[0]!));
  m.graph.nodes = m.graph.nodes.filter((k) => k.opType !== 'Constant');
  return m;
}

/** Every input code from −5 to +7 (sIn 12/255, zIn 106). */
const codes = { x: { dims: [256], data: Float32Array.from({ length: 256 }, (_, i) => ((i - 106) * 12) / 255) } };

async function compare(m: Model, step: number): Promise<{ worst: number; stats: ReturnType<typeof hardSwishToUint8> }> {
  const before = (await runModel(m, codes)).y!;
  const r = m.clone();
  const stats = hardSwishToUint8(r.graph, r.graph.namer());
  const after = (await runModel(r, codes)).y!;
  let worst = 0;
  for (let i = 0; i < 256; i++) {
    const x = codes.x.data[i]!;
    // one output step, plus the rounding of HardSigmoid to 1/255 (times |x|)
    const allowed = step + Math.abs(x) / 510 + 1e-5;
    worst = Math.max(worst, Math.abs(after[i]! - before[i]!) / allowed);
  }
  return { worst, stats };
}

test('HardSwish on the uint8 codes matches the float HardSwish on every input code', async () => {
  const m = hop(12 / 255, 106, 8 / 255, 10);
  const { worst, stats } = await compare(m, 8 / 255);
  assert.deepEqual(stats, { rewritten: 1, biasExact: 0, biasRounded: 0 });
  assert.ok(worst <= 1, `within a step everywhere (worst ${worst.toFixed(3)} of the allowance)`);
  // and it is HardSwish: spot values against the formula
  const out = (await runModel(m, codes)).y!;
  assert.ok(Math.abs(out[106 + 64]! - hardSwish((64 * 12) / 255)) < 0.05);
});

test('a scalar bias after HardSwish folds into the zero point: exactly (scale nudged) when it spans 8 steps, else within half a step', async () => {
  const exact = await compare(hop(12 / 255, 106, 8 / 255, 10, 0.51), 8 / 255);
  assert.deepEqual(exact.stats, { rewritten: 1, biasExact: 1, biasRounded: 0 });
  assert.ok(exact.worst <= 1, `exact fold within a step (worst ${exact.worst.toFixed(3)})`);
  const small = await compare(hop(12 / 255, 106, 8 / 255, 20, 0.05), 8 / 255);
  assert.deepEqual(small.stats, { rewritten: 1, biasExact: 0, biasRounded: 1 });
  assert.ok(small.worst <= 1.5, `rounded fold within a step and a half (worst ${small.worst.toFixed(3)})`);
  // a bias that pushes the zero point out of uint8 is left alone
  const out = await compare(hop(12 / 255, 106, 8 / 255, 250, 1), 8 / 255);
  assert.equal(out.stats.rewritten, 0);
});

test('a positive scalar Mul after HardSwish goes into the HardSigmoid scale, exactly; a negative one is left alone', async () => {
  // the output scale covers 1.7 × HardSwish's range on these codes
  const scaled = await compare(hop(12 / 255, 106, 14 / 255, 10, 0.51, 1.7), 14 / 255);
  assert.deepEqual(scaled.stats, { rewritten: 1, biasExact: 1, biasRounded: 0 });
  assert.ok(scaled.worst <= 1.7, `within a step and the gain times HardSigmoid's rounding (worst ${scaled.worst.toFixed(3)})`);
  const m = hop(12 / 255, 106, 14 / 255, 10, undefined, 1.7);
  m.graph.nodes.find((n) => n.name === 'lab_scale')!.opType = 'Mul';
  const r = m.clone();
  assert.equal(hardSwishToUint8(r.graph, r.graph.namer()).rewritten, 1);
  assert.ok(
    r.graph.nodes.every((n) => n.name !== 'lab_scale'),
    'the Mul is gone',
  );
  const neg = hop(12 / 255, 106, 14 / 255, 200, undefined, -1.7);
  assert.equal(hardSwishToUint8(neg.graph, neg.graph.namer()).rewritten, 0);
});

test('HardSwish read by anything but one Q (a graph output, two readers) stays as it is', () => {
  const m = hop(12 / 255, 106, 8 / 255, 10);
  m.graph.outputs.push({
    name: m.graph.nodes.find((n) => n.opType === 'HardSwish')!.outputs[0]!,
    type: { kind: 'tensor', elemType: DataType.FLOAT, shape: [256] },
  });
  assert.equal(hardSwishToUint8(m.graph, m.graph.namer()).rewritten, 0);
  const two = hop(12 / 255, 106, 8 / 255, 10);
  const hs = two.graph.nodes.find((n) => n.opType === 'HardSwish')!;
  two.graph.nodes.push(new Node('Relu', [hs.outputs[0]!], ['other'], 'other_reader'));
  assert.equal(hardSwishToUint8(two.graph, two.graph.namer()).rewritten, 0);
});

test('quantize-static hardswish=uint8 on a MobileNetV3: ORT runs every HardSwish as QLinearAdd + QLinearMul, every conv int8, outputs kept', async () => {
  const shapes = { x: [2, 3, 32, 32] };
  const calibration = async function* () {
    for (let i = 0; i < 2; i++) yield randomFeeds(shapes, i + 1) as unknown as Feeds;
  };
  const m = mobilenetV3({ imageSize: 32 });
  const base = { scope: 'compute', quantizeDepthwise: true };
  const float = await quantizeStatic(m, base, { calibration });
  const u8 = await quantizeStatic(m, { ...base, hardswish: 'uint8' }, { calibration });
  assert.ok(u8.record.notes.some((n) => /HardSwish run in uint8/.test(n)));
  const before = await optimizedOpCounts(float.model);
  const after = await optimizedOpCounts(u8.model);
  assert.ok((before.get('HardSigmoid') ?? 0) + (before.get('HardSwish') ?? 0) > 0, 'float HardSwish before');
  assert.ok((after.get('com.microsoft.QLinearMul') ?? 0) > 0 && (after.get('com.microsoft.QLinearAdd') ?? 0) > 0, JSON.stringify([...after]));
  assert.ok((after.get('HardSigmoid') ?? 0) < (before.get('HardSigmoid') ?? 0) + (before.get('HardSwish') ?? 0), 'fewer float HardSwish');
  assert.equal(after.get('Conv') ?? 0, 0, 'no conv falls back to float (bias scales follow a nudged input scale)');
  const feeds = { x: { dims: [2, 3, 32, 32], data: randomFeeds(shapes, 9).x!.data as Float32Array } };
  const [a, b, c] = [(await runModel(m, feeds)).logits!, (await runModel(float.model, feeds)).logits!, (await runModel(u8.model, feeds)).logits!];
  assert.ok(cosine(b, c) > 0.995, `close to float-HardSwish int8: ${cosine(b, c)}`);
  assert.ok(cosine(a, c) > 0.98, `close to fp32: ${cosine(a, c)}`);
});

test('a nudged scale carries over to the int32 bias of the conv that reads it, so ORT still fuses that conv', async () => {
  // x → Conv 1x1 → HardSwish → Add(0.7) → depthwise Conv 3x3 with bias → y (PP-LCNet's block)
  const b = new GraphBuilder('lcnet-block');
  const x = b.input('x', DataType.FLOAT, ['n', 4, 8, 8]);
  const wave = (name: string, dims: number[], k: number) =>
    b.floats(
      name,
      dims,
      Array.from({ length: dims.reduce((p, d) => p * d, 1) }, (_, i) => k * Math.sin(i * 0.7 + 0.2)),
    );
  const c1 = b.op('Conv', [x, wave('w1', [8, 4, 1, 1], 1.5), wave('b1', [8], 0.5)], { kernel_shape: [1, 1] }, { name: 'pw' });
  const hs = b.op('HardSwish', [c1], {}, { name: 'hs' });
  const shifted = b.op('Add', [hs, b.scalar('lab_bias', 0.7)], {}, { name: 'lab' });
  const dw = b.op(
    'Conv',
    [shifted, wave('w2', [8, 1, 3, 3], 0.8), wave('b2', [8], 0.3)],
    { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 8 },
    { name: 'dw' },
  );
  b.output(b.op('Conv', [dw, wave('w3', [4, 8, 1, 1], 0.6)], { kernel_shape: [1, 1] }, { name: 'pw2', outputs: ['y'] }), DataType.FLOAT, ['n', 4, 8, 8]);
  const m = b.model({ opset: 14 });
  const shapes = { x: [4, 4, 8, 8] };
  const calibration = async function* () {
    for (let i = 0; i < 2; i++) yield randomFeeds(shapes, i + 1) as unknown as Feeds;
  };
  const q = await quantizeStatic(m, { scope: 'compute', quantizeDepthwise: true, hardswish: 'uint8' }, { calibration });
  assert.ok(
    q.record.notes.some((n) => /1 exactly/.test(n)),
    q.record.notes.join('; '),
  );
  const ops = await optimizedOpCounts(q.model);
  assert.equal(ops.get('Conv') ?? 0, 0, `every conv fused: ${JSON.stringify([...ops])}`);
  assert.equal(ops.get('com.microsoft.QLinearConv'), 3);
  const feeds = { x: { dims: [2, 4, 8, 8], data: randomFeeds({ x: [2, 4, 8, 8] }, 7).x!.data } };
  const c = cosine((await runModel(m, feeds)).y!, (await runModel(q.model, feeds)).y!);
  assert.ok(c > 0.995, `outputs kept: cosine ${c}`);
});

test('below opset 14 (no HardSwish op) hardswish=uint8 says it changed nothing and what to run first', async () => {
  // Conv → x·clip(x+3, 0, 6)/6 → Conv at opset 13, as a torch.onnx export at that opset writes HardSwish
  const b = new GraphBuilder('decomposed');
  const x = b.input('x', DataType.FLOAT, ['n', 4, 6, 6]);
  const w = (name: string, dims: number[]) =>
    b.floats(
      name,
      dims,
      Array.from({ length: dims.reduce((p, d) => p * d, 1) }, (_, i) => Math.cos(i * 0.9)),
    );
  const c = b.op('Conv', [x, w('w1', [4, 4, 1, 1])], { kernel_shape: [1, 1] });
  const clip = b.op('Clip', [b.op('Add', [c, b.scalar('three', 3)]), b.scalar('lo', 0), b.scalar('hi', 6)]);
  const h = b.op('Div', [b.op('Mul', [c, clip]), b.scalar('six', 6)]);
  b.output(b.op('Conv', [h, w('w2', [4, 4, 1, 1])], { kernel_shape: [1, 1] }, { outputs: ['y'] }), DataType.FLOAT, ['n', 4, 6, 6]);
  const calibration = async function* () {
    yield randomFeeds({ x: [2, 4, 6, 6] }, 1) as unknown as Feeds;
  };
  const at13 = await quantizeStatic(b.model({ opset: 13 }), { scope: 'compute', hardswish: 'uint8' }, { calibration });
  assert.ok(
    at13.record.notes.some((n) => /hardswish=uint8 changed nothing: opset 13 .*convert --opset 14/.test(n)),
    at13.record.notes.join('; '),
  );
  const at14 = await quantizeStatic(b.model({ opset: 14 }), { scope: 'compute', hardswish: 'uint8' }, { calibration });
  assert.ok(!at14.record.notes.some((n) => /changed nothing/.test(n)), at14.record.notes.join('; '));
  assert.ok(
    at14.record.notes.some((n) => /1 HardSwish run in uint8/.test(n)),
    at14.record.notes.join('; '),
  );
});
