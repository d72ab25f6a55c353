// Every gradient rule against central finite differences. One row per case: the op, its inputs
// (shape and how values are drawn, or constant ints), attributes, element type and tolerance.
// Cases run in float64 where ORT has double kernels for the op (eps 1e-6, tight tolerance); where it
// does not (Conv, ConvTranspose, Resize, AveragePool, GlobalAveragePool, Erf, HardSigmoid, HardSwish), in float32
// with eps 1e-2 and a looser tolerance, said per row.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { buildBackward, expandForTraining, prepareForward } from '../train/backward.js';
import { probeFacts } from '../train/probe.js';
import { GRADIENTS } from './gradients.js';
import { mulberry32 } from '../util/rng.js';

type Gen = 'any' | 'pos' | 'wide' | 'unit';
interface In {
  shape: number[];
  gen?: Gen;
  /** A constant int64 input (axes, shapes, indices). */
  ints?: number[];
  /** A constant float input that is not differentiated (e.g. BatchNorm running stats). */
  consts?: number[];
  /** A constant bool input. */
  bools?: boolean[];
}
interface Case {
  name: string;
  op: string;
  inputs: (In | null)[];
  attrs?: Record<string, number | number[] | string>;
  outputs?: number;
  float32?: boolean;
  opset?: number;
  bn?: 'frozen' | 'batch';
}

const F = { float32: true } as const;
const CASES: Case[] = [
  { name: 'MatMul 2-D', op: 'MatMul', inputs: [{ shape: [3, 4] }, { shape: [4, 5] }] },
  { name: 'MatMul batched × 2-D', op: 'MatMul', inputs: [{ shape: [2, 3, 4] }, { shape: [4, 2] }] },
  { name: 'MatMul broadcast batch', op: 'MatMul', inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }] },
  { name: 'Gemm', op: 'Gemm', inputs: [{ shape: [3, 4] }, { shape: [4, 5] }, { shape: [5] }], attrs: { alpha: 0.7, beta: 1.3 } },
  { name: 'Gemm transA', op: 'Gemm', inputs: [{ shape: [4, 3] }, { shape: [4, 5] }, { shape: [1, 5] }], attrs: { transA: 1 } },
  { name: 'Gemm transB', op: 'Gemm', inputs: [{ shape: [3, 4] }, { shape: [5, 4] }, { shape: [3, 5] }], attrs: { transB: 1, alpha: 2 } },
  { name: 'Gemm transA transB', op: 'Gemm', inputs: [{ shape: [4, 3] }, { shape: [5, 4] }], attrs: { transA: 1, transB: 1 } },
  { name: 'Add broadcast', op: 'Add', inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }] },
  { name: 'Sub broadcast', op: 'Sub', inputs: [{ shape: [4] }, { shape: [2, 3, 4] }] },
  { name: 'Mul broadcast', op: 'Mul', inputs: [{ shape: [2, 3, 4] }, { shape: [1, 3, 1] }] },
  { name: 'Div broadcast', op: 'Div', inputs: [{ shape: [2, 3] }, { shape: [3], gen: 'pos' }] },
  { name: 'Pow', op: 'Pow', inputs: [{ shape: [2, 3], gen: 'pos' }, { shape: [3] }] },
  { name: 'Neg', op: 'Neg', inputs: [{ shape: [2, 3] }] },
  { name: 'Sqrt', op: 'Sqrt', inputs: [{ shape: [2, 3], gen: 'pos' }] },
  { name: 'Exp', op: 'Exp', inputs: [{ shape: [2, 3] }] },
  { name: 'Log', op: 'Log', inputs: [{ shape: [2, 3], gen: 'pos' }] },
  { name: 'Identity', op: 'Identity', inputs: [{ shape: [2, 3] }] },
  { name: 'Relu', op: 'Relu', inputs: [{ shape: [3, 4] }] },
  { name: 'LeakyRelu', op: 'LeakyRelu', inputs: [{ shape: [3, 4] }], attrs: { alpha: 0.1 } },
  { name: 'Sigmoid', op: 'Sigmoid', inputs: [{ shape: [3, 4], gen: 'wide' }] },
  { name: 'Tanh', op: 'Tanh', inputs: [{ shape: [3, 4] }] },
  {
    name: 'Clip min/max inputs',
    op: 'Clip',
    inputs: [
      { shape: [3, 4], gen: 'wide' },
      { shape: [], consts: [-0.55] },
      { shape: [], consts: [0.65] },
    ],
  },
  { name: 'Softmax axis 1', op: 'Softmax', inputs: [{ shape: [2, 3, 4] }], attrs: { axis: 1 } },
  { name: 'Softmax last', op: 'Softmax', inputs: [{ shape: [3, 5] }] },
  { name: 'LogSoftmax', op: 'LogSoftmax', inputs: [{ shape: [3, 5] }] },
  { name: 'LayerNormalization', op: 'LayerNormalization', inputs: [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [4] }], attrs: { epsilon: 1e-3 } },
  { name: 'LayerNormalization axis 1', op: 'LayerNormalization', inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }, { shape: [3, 4] }], attrs: { axis: 1 } },
  {
    name: 'BatchNormalization frozen',
    op: 'BatchNormalization',
    inputs: [{ shape: [2, 3, 2, 2] }, { shape: [3] }, { shape: [3] }, { shape: [3], consts: [0.1, -0.2, 0.3] }, { shape: [3], consts: [0.5, 1.5, 2] }],
    ...F,
    bn: 'frozen',
  },
  {
    name: 'BatchNormalization batch stats',
    op: 'BatchNormalization',
    inputs: [{ shape: [3, 2, 2, 2] }, { shape: [2] }, { shape: [2] }, { shape: [2], consts: [0, 0] }, { shape: [2], consts: [1, 1] }],
    ...F,
    bn: 'batch',
  },
  { name: 'Conv 3x3 pad 1', op: 'Conv', inputs: [{ shape: [2, 3, 5, 5] }, { shape: [4, 3, 3, 3] }, { shape: [4] }], attrs: { pads: [1, 1, 1, 1] }, ...F },
  {
    name: 'Conv stride 2 asym pads',
    op: 'Conv',
    inputs: [{ shape: [1, 2, 6, 7] }, { shape: [3, 2, 3, 2] }],
    attrs: { strides: [2, 2], pads: [1, 0, 0, 1] },
    ...F,
  },
  {
    name: 'Conv depthwise stride 2',
    op: 'Conv',
    inputs: [{ shape: [2, 4, 5, 5] }, { shape: [4, 1, 3, 3] }, { shape: [4] }],
    attrs: { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] },
    ...F,
  },
  {
    name: 'Conv groups 2 dilation 2',
    op: 'Conv',
    inputs: [{ shape: [1, 4, 7, 7] }, { shape: [6, 2, 3, 3] }],
    attrs: { group: 2, dilations: [2, 2], pads: [2, 1, 1, 2] },
    ...F,
  },
  { name: 'Conv 1-D', op: 'Conv', inputs: [{ shape: [2, 2, 8] }, { shape: [3, 2, 3] }], attrs: { strides: [2] }, ...F },
  { name: 'Conv SAME_UPPER', op: 'Conv', inputs: [{ shape: [1, 2, 5, 5] }, { shape: [2, 2, 2, 2] }], attrs: { auto_pad: 'SAME_UPPER', strides: [2, 2] }, ...F },
  {
    name: 'ConvTranspose stride 2 kernel 2 (PaddleOCR det)',
    op: 'ConvTranspose',
    inputs: [{ shape: [2, 3, 3, 3] }, { shape: [3, 4, 2, 2] }, { shape: [4] }],
    attrs: { strides: [2, 2] },
    ...F,
  },
  {
    name: 'ConvTranspose groups 2 pads output_padding',
    op: 'ConvTranspose',
    inputs: [{ shape: [1, 4, 3, 4] }, { shape: [4, 3, 3, 3] }],
    attrs: { strides: [2, 2], pads: [1, 0, 1, 1], output_padding: [1, 1], group: 2 },
    ...F,
  },
  { name: 'ConvTranspose 1-D dilation 2', op: 'ConvTranspose', inputs: [{ shape: [2, 2, 5] }, { shape: [2, 3, 3] }], attrs: { dilations: [2] }, ...F },
  {
    name: 'Resize nearest ×2 asymmetric floor (PaddleOCR det)',
    op: 'Resize',
    inputs: [{ shape: [2, 3, 2, 3] }, null, { shape: [4], consts: [1, 1, 2, 2] }],
    attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' },
    ...F,
  },
  {
    name: 'Resize nearest ×4 ×2 half_pixel',
    op: 'Resize',
    inputs: [{ shape: [1, 2, 2, 3] }, null, { shape: [4], consts: [1, 1, 4, 2] }],
    attrs: { mode: 'nearest' },
    ...F,
  },
  { name: 'Resize with the default attributes ×2', op: 'Resize', inputs: [{ shape: [1, 2, 2, 2] }, null, { shape: [4], consts: [1, 1, 2, 2] }], ...F },
  {
    name: 'Resize by 1 (identity)',
    op: 'Resize',
    inputs: [{ shape: [1, 2, 2, 2] }, null, { shape: [4], consts: [1, 1, 1, 1] }],
    attrs: { mode: 'nearest' },
    ...F,
  },
  { name: 'Resize ×2 on the first axis', op: 'Resize', inputs: [{ shape: [2, 3] }, null, { shape: [2], consts: [2, 1] }], attrs: { mode: 'nearest' }, ...F },
  {
    name: 'Resize nearest by sizes ×3 ×2',
    op: 'Resize',
    inputs: [{ shape: [1, 2, 2, 2] }, null, null, { shape: [4], ints: [1, 2, 6, 4] }],
    attrs: { mode: 'nearest' },
    ...F,
  },
  { name: 'MaxPool 2x2', op: 'MaxPool', inputs: [{ shape: [2, 2, 4, 4] }], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
  {
    name: 'MaxPool 3x3 overlapping pads',
    op: 'MaxPool',
    inputs: [{ shape: [1, 2, 5, 5] }],
    attrs: { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] },
  },
  { name: 'AveragePool 2x2', op: 'AveragePool', inputs: [{ shape: [2, 2, 4, 4] }], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, ...F },
  {
    name: 'AveragePool pads exclude',
    op: 'AveragePool',
    inputs: [{ shape: [1, 2, 5, 5] }],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    ...F,
  },
  {
    name: 'AveragePool pads include',
    op: 'AveragePool',
    inputs: [{ shape: [1, 2, 5, 5] }],
    attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 },
    ...F,
  },
  { name: 'GlobalAveragePool', op: 'GlobalAveragePool', inputs: [{ shape: [2, 3, 3, 4] }], ...F },
  { name: 'Erf', op: 'Erf', inputs: [{ shape: [3, 4] }], ...F },
  { name: 'Gelu (opset 20)', op: 'Gelu', inputs: [{ shape: [3, 4], gen: 'wide' }], ...F, opset: 20 },
  { name: 'Gelu tanh (opset 20)', op: 'Gelu', inputs: [{ shape: [3, 4], gen: 'wide' }], attrs: { approximate: 'tanh' }, ...F, opset: 20 },
  { name: 'HardSigmoid', op: 'HardSigmoid', inputs: [{ shape: [3, 4], gen: 'wide' }], attrs: { alpha: 0.25, beta: 0.4 }, ...F },
  { name: 'HardSwish', op: 'HardSwish', inputs: [{ shape: [4, 5], gen: 'wide' }], ...F },
  { name: 'Reshape', op: 'Reshape', inputs: [{ shape: [2, 6] }, { shape: [3], ints: [3, -1, 2] }] },
  { name: 'Flatten', op: 'Flatten', inputs: [{ shape: [2, 3, 2] }], attrs: { axis: 1 } },
  { name: 'Transpose', op: 'Transpose', inputs: [{ shape: [2, 3, 4] }], attrs: { perm: [2, 0, 1] } },
  { name: 'Squeeze', op: 'Squeeze', inputs: [{ shape: [2, 1, 3] }, { shape: [1], ints: [1] }] },
  { name: 'Unsqueeze', op: 'Unsqueeze', inputs: [{ shape: [2, 3] }, { shape: [2], ints: [0, 3] }] },
  { name: 'Concat', op: 'Concat', inputs: [{ shape: [2, 3] }, { shape: [2, 2] }, { shape: [2, 1] }], attrs: { axis: 1 } },
  { name: 'Split', op: 'Split', inputs: [{ shape: [2, 5] }, { shape: [2], ints: [2, 3] }], attrs: { axis: 1 }, outputs: 2 },
  {
    name: 'Slice steps and negatives',
    op: 'Slice',
    inputs: [{ shape: [4, 6] }, { shape: [2], ints: [-1, 1] }, { shape: [2], ints: [0, 6] }, { shape: [2], ints: [0, 1] }, { shape: [2], ints: [-1, 2] }],
  },
  { name: 'Gather repeated indices', op: 'Gather', inputs: [{ shape: [4, 3] }, { shape: [2, 2], ints: [0, 2, 2, -1] }], attrs: { axis: 0 } },
  { name: 'Gather axis 1', op: 'Gather', inputs: [{ shape: [2, 4] }, { shape: [3], ints: [1, 1, 3] }], attrs: { axis: 1 } },
  {
    name: 'ScatterElements last axis',
    op: 'ScatterElements',
    inputs: [{ shape: [2, 5] }, { shape: [2, 3], ints: [4, 0, 2, 1, 3, 0] }, { shape: [2, 3] }],
    attrs: { axis: -1 },
  },
  { name: 'Expand', op: 'Expand', inputs: [{ shape: [3, 1] }, { shape: [3], ints: [2, 3, 4] }] },
  { name: 'ReduceSum keepdims 0', op: 'ReduceSum', inputs: [{ shape: [2, 3, 4] }, { shape: [2], ints: [0, -1] }], attrs: { keepdims: 0 } },
  { name: 'ReduceSum all', op: 'ReduceSum', inputs: [{ shape: [2, 3] }] },
  { name: 'ReduceMean', op: 'ReduceMean', inputs: [{ shape: [2, 3, 4] }], attrs: { axes: [1], keepdims: 1 } },
  {
    name: 'ReduceMean keepdims 0 (opset 18)',
    op: 'ReduceMean',
    inputs: [{ shape: [2, 3, 4] }, { shape: [2], ints: [1, 2] }],
    attrs: { keepdims: 0 },
    opset: 18,
  },
  { name: 'Dropout (inference)', op: 'Dropout', inputs: [{ shape: [3, 4] }] },
  { name: 'Where', op: 'Where', inputs: [{ shape: [3, 1], bools: [true, false, true] }, { shape: [3, 4] }, { shape: [4] }] },
  { name: 'Cast float → double', op: 'Cast', inputs: [{ shape: [2, 3] }], attrs: { to: DataType.DOUBLE }, ...F },
];

function draw(n: number, gen: Gen, r: () => number): number[] {
  return Array.from({ length: n }, () => {
    const u = r();
    if (gen === 'pos') return 0.5 + 1.5 * u;
    if (gen === 'wide') return (u < 0.5 ? -1 : 1) * (0.1 + 4.5 * Math.abs(2 * u - 1));
    // away from 0 so kinks (Relu, LeakyRelu) are not straddled by the finite difference
    return (u < 0.5 ? -1 : 1) * (0.1 + 0.9 * Math.abs(2 * u - 1));
  });
}

async function check(c: Case): Promise<void> {
  const dt = c.float32 ? DataType.FLOAT : DataType.DOUBLE;
  const ortType = c.float32 ? 'float32' : 'float64';
  const opset = c.opset ?? 17;
  const r = mulberry32(1234);
  const b = new GraphBuilder('case');
  const names: string[] = [];
  const wrt: string[] = [];
  const feeds: Record<string, ort.Tensor> = {};
  c.inputs.forEach((spec, k) => {
    if (!spec) {
      names.push('');
      return;
    }
    const n = spec.shape.reduce((p, q) => p * q, 1);
    if (spec.ints) names.push(b.int64s(`c${k}`, spec.ints, spec.shape));
    else if (spec.consts) names.push(b.constant(`c${k}`, Tensor.fromNumbers(`c${k}`, dt, spec.shape, spec.consts)));
    else if (spec.bools) names.push(b.constant(`c${k}`, Tensor.fromNumbers(`c${k}`, DataType.BOOL, spec.shape, spec.bools.map(Number))));
    else {
      const name = b.input(`x${k}`, dt, spec.shape);
      const v = draw(n, spec.gen ?? 'any', r);
      feeds[name] = new ort.Tensor(ortType, c.float32 ? Float32Array.from(v) : Float64Array.from(v), spec.shape);
      names.push(name);
      wrt.push(name);
    }
  });
  const outs = b.opN(c.op, names, c.attrs ?? {}, { outputs: c.outputs ?? 1, name: 'node' });
  // loss = Σ_k Σ(y_k ⊙ R_k), with R_k fixed random weights shaped like y_k
  const probe0 = await probeFacts(b.model({ opset }), feeds);
  const terms = outs.map((y, k) => {
    const shape = probe0.shape(y);
    const ydt = probe0.dtype(y);
    const w = b.constant(
      `w${k}`,
      Tensor.fromNumbers(
        `w${k}`,
        ydt,
        shape,
        draw(
          shape.reduce((p, q) => p * q, 1),
          'any',
          r,
        ),
      ),
    );
    const t = b.op('ReduceSum', [b.op('Mul', [y, w])], { keepdims: 0 });
    return ydt === dt ? t : b.op('Cast', [t], { to: dt });
  });
  const loss = terms.length === 1 ? terms[0]! : b.op('Sum', terms);
  b.output(loss, dt, []);
  const fwd = b.model({ opset });
  const train = fwd.clone();
  prepareForward(train.graph, wrt);
  const facts0 = await probeFacts(train, feeds);
  expandForTraining(train.graph, wrt, facts0, opset, { batchNorm: c.bn ?? 'frozen' });
  // Batch statistics are a training-time behaviour the inference op lacks: the reference is the expanded forward.
  const lossSession = await createSession(c.bn === 'batch' ? train.clone() : fwd.clone());
  const facts = await probeFacts(train, feeds);
  const grads = buildBackward(train.graph, loss, wrt, facts, opset);
  train.graph.outputs = wrt.map((w) => ({ name: grads.get(w)! }));
  const session = await createSession(train);
  const analytic = await session.run(feeds);

  const eps = c.float32 ? 1e-2 : 1e-6;
  const [atol, rtol] = c.float32 ? [3e-3, 2e-2] : [1e-6, 1e-5];
  for (const w of wrt) {
    const got = analytic[grads.get(w)!]!.data as Float32Array | Float64Array;
    const base = feeds[w]!.data as Float32Array | Float64Array;
    for (let i = 0; i < base.length; i++) {
      const at = async (delta: number) => {
        const v = base.slice();
        v[i] = v[i]! + delta;
        const out = await lossSession.run({ ...feeds, [w]: new ort.Tensor(ortType, v, feeds[w]!.dims) });
        return Number((out[loss]!.data as Float64Array)[0]);
      };
      const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      const g = got[i]!;
      assert.ok(Math.abs(g - numeric) <= atol + rtol * Math.abs(numeric), `${c.name}: d/d${w}[${i}] analytic ${g} vs numeric ${numeric}`);
    }
  }
}

for (const c of CASES)
  test(`gradient of ${c.name} matches finite differences (${c.float32 ? 'float32, eps 1e-2, atol 3e-3, rtol 2e-2' : 'float64, eps 1e-6, atol 1e-6, rtol 1e-5'})`, () =>
    check(c));

test('every op in the table has at least one finite-difference case', () => {
  const tested = new Set(CASES.map((c) => c.op));
  // The straight-through estimators are not derivatives of their (step) forward: grad-quant.test.ts checks them against their definition.
  const steChecked = ['QuantizeLinear', 'DequantizeLinear', 'Round'];
  const untested = Object.keys(GRADIENTS).filter((op) => !tested.has(op) && op !== 'Sum' && !steChecked.includes(op));
  assert.deepEqual(untested, []);
});

test('a missing rule names the op and the node', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [2, 2]);
  const y = b.op('Sin', [x], {}, { name: 'the_sin' });
  const loss = b.op('ReduceSum', [y], { keepdims: 0 });
  b.output(loss, DataType.FLOAT, []);
  const m = b.model();
  const facts = await probeFacts(m, { x: new ort.Tensor('float32', new Float32Array(4), [2, 2]) });
  assert.throws(() => buildBackward(m.graph, loss, ['x'], facts, 17), /no gradient rule for op 'Sin' \(node 'the_sin'\)/);
});

test('Resize: a mode whose gradient is not a block sum is refused by name', async () => {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [1, 1, 2, 2]);
  const scales = b.constant('s', Tensor.fromNumbers('s', DataType.FLOAT, [4], [1, 1, 2, 2]));
  const y = b.op('Resize', [x, '', scales], { mode: 'linear' }, { name: 'up' });
  const loss = b.op('ReduceSum', [y], { keepdims: 0 });
  b.output(loss, DataType.FLOAT, []);
  const m = b.model();
  const facts = await probeFacts(m, { x: new ort.Tensor('float32', new Float32Array(4), [1, 1, 2, 2]) });
  assert.throws(() => buildBackward(m.graph, loss, ['x'], facts, 17), /Resize 'up': no gradient rule for mode 'linear'/);
});
