// Each clean-fp32 rule on a tiny hand-built graph: it rewrites what it should, leaves alone what it
// must not touch, and ORT gives the same outputs before and after.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../../onnx/builder.js';
import type { Model } from '../../onnx/model.js';
import { verifyModel } from '../../onnx/verify.js';
import { mulberry32 } from '../../util/rng.js';
import { maxAbsDiff, runModel } from '../quant/ort-check.js';
import { cleanFp32 } from '../clean-fp32.js';
import { CLEAN_RULES } from './rules.js';

const C = 4;
const SHAPE = [1, C, 6, 5];

function rand(n: number, seed: number, scale = 1): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** A builder with input x [1, 4, 6, 5] and a Conv helper with random weights. */
function start() {
  const b = new GraphBuilder('t');
  const x = b.input('x', 1, SHAPE);
  let seed = 1;
  const conv = (input: string, opts: { k?: number; group?: number; bias?: boolean; pad?: number } = {}) => {
    const k = opts.k ?? 1;
    const group = opts.group ?? 1;
    const w = b.floats('w', [C, C / group, k, k], rand(C * (C / group) * k * k, seed++));
    const ins = [input, w];
    if (opts.bias !== false) ins.push(b.floats('b', [C], rand(C, seed++)));
    const p = opts.pad ?? 0;
    return b.op('Conv', ins, { kernel_shape: [k, k], group, pads: [p, p, p, p] });
  };
  return { b, x, conv };
}

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);

/** Runs the named rules on a copy; checks the copy verifies and matches the original on random input. */
async function clean(m: Model, names: string[], tol = 1e-5): Promise<{ out: Model; counts: Record<string, number> }> {
  const out = m.clone();
  const { counts } = cleanFp32(
    out,
    CLEAN_RULES.filter((r) => names.includes(r.name)),
  );
  verifyModel(out);
  const feeds = {
    x: {
      dims: SHAPE,
      data: Float32Array.from(
        rand(
          SHAPE.reduce((a, d) => a * d),
          99,
          4,
        ),
      ),
    },
  };
  const [a, b] = [await runModel(m, feeds), await runModel(out, feeds)];
  for (const k of Object.keys(a)) assert.ok(maxAbsDiff(a[k]!, b[k]!) <= tol, `${names.join('+')}: output ${k} moved by ${maxAbsDiff(a[k]!, b[k]!)}`);
  return { out, counts };
}

test('conv-scale-bias folds a scalar Mul and a per-channel Add after a Conv, keeping the graph output name', async () => {
  const { b, x, conv } = start();
  const m = b.op('Mul', [b.floats('s', [1], [0.7]), conv(x, { k: 3, pad: 1 })]);
  const y = b.op('Add', [m, b.floats('t', [C, 1, 1], rand(C, 5))]);
  b.output(y);
  const { out, counts } = await clean(b.model({ opset: 17 }), ['conv-scale-bias']);
  assert.deepEqual(ops(out), ['Conv']);
  assert.equal(out.graph.nodes[0]!.outputs[0], y);
  assert.equal(counts['conv-scale-bias'], 2);
});

test('conv-scale-bias leaves a spatial constant, and a Conv output read twice, alone', async () => {
  const { b, x, conv } = start();
  const spatial = b.op('Mul', [conv(x), b.floats('sp', [1, 1, 6, 5], rand(30, 3))]);
  const c2 = conv(spatial);
  const twice = b.op('Add', [b.op('Mul', [c2, b.floats('s', [], [2])]), c2]);
  b.output(twice);
  const { out, counts } = await clean(b.model({ opset: 17 }), ['conv-scale-bias']);
  assert.equal(counts['conv-scale-bias'], 0);
  assert.deepEqual(ops(out), ['Conv', 'Mul', 'Conv', 'Mul', 'Add']);
});

test('scale-bias-conv folds a scalar scale and shift into an unpadded Conv after them', async () => {
  const { b, x, conv } = start();
  const h = b.op('Add', [b.op('Mul', [b.floats('s', [1], [1.3]), b.op('Relu', [x])]), b.floats('t', [1], [-0.4])]);
  b.output(conv(h, { group: C }));
  const { out, counts } = await clean(b.model({ opset: 17 }), ['scale-bias-conv']);
  assert.deepEqual(ops(out), ['Relu', 'Conv']);
  assert.equal(counts['scale-bias-conv'], 2);
});

test('scale-bias-conv keeps a shift before a padded Conv (the border would change); scale-shift-swap then lets the scale fold', async () => {
  const { b, x, conv } = start();
  const h = b.op('Add', [b.op('Mul', [b.op('Relu', [x]), b.floats('s', [1], [1.3])]), b.floats('t', [1], [-0.4])]);
  b.output(conv(h, { k: 3, pad: 1, group: C }));
  const m = b.model({ opset: 17 });
  const alone = await clean(m, ['scale-bias-conv']);
  assert.deepEqual(ops(alone.out), ['Relu', 'Mul', 'Add', 'Conv']);
  assert.equal(alone.counts['scale-bias-conv'], 0);
  const swapped = await clean(m, ['scale-bias-conv', 'scale-shift-swap']);
  assert.deepEqual(ops(swapped.out), ['Relu', 'Add', 'Conv']);
  assert.equal(swapped.counts['scale-shift-swap'], 1);
});

test('scale-shift-swap leaves a zero scale alone (t/s)', async () => {
  const { b, x, conv } = start();
  const h = b.op('Add', [b.op('Mul', [b.op('Relu', [x]), b.floats('s', [1], [0])]), b.floats('t', [1], [-0.4])]);
  b.output(conv(h, { k: 3, pad: 1 }));
  const { counts } = await clean(b.model({ opset: 17 }), ['scale-bias-conv', 'scale-shift-swap']);
  assert.equal(counts['scale-shift-swap'], 0);
});

test('hardswish: the Paddle2ONNX form at opset 9 (Clip bounds as attributes) becomes HardSwish at opset 17', async () => {
  const { b, x } = start();
  const gate = b.op('Clip', [b.op('Add', [x, b.floats('three', [], [3])])], { min: 0, max: 6 });
  b.output(b.op('Div', [b.op('Mul', [x, gate]), b.floats('six', [], [6])]));
  const { out } = await clean(b.model({ opset: 9 }), ['hardswish']);
  assert.deepEqual(ops(out), ['HardSwish']);
  assert.equal(out.opset(''), 17);
});

test('hardswish: Clip bounds as inputs, ·(1/6) instead of /6, and x·HardSigmoid(x, 1/6, ½)', async () => {
  const { b, x } = start();
  const gate = b.op('Clip', [b.op('Add', [b.floats('three', [], [3]), x]), b.floats('lo', [], [0]), b.floats('hi', [], [6])]);
  const h1 = b.op('Mul', [b.op('Mul', [gate, x]), b.floats('sixth', [], [1 / 6])]);
  b.output(b.op('Mul', [h1, b.op('HardSigmoid', [h1], { alpha: 1 / 6, beta: 0.5 })]));
  const { out, counts } = await clean(b.model({ opset: 13 }), ['hardswish']);
  assert.deepEqual(ops(out), ['HardSwish', 'HardSwish']);
  assert.equal(counts.hardswish, 2);
});

test('hardswish leaves look-alikes: Clip to 5, a gate on another value; and the opset alone when nothing matches', async () => {
  const { b, x } = start();
  const y = b.op('Relu', [x]);
  const five = b.op('Clip', [b.op('Add', [x, b.floats('three', [], [3])]), b.floats('lo', [], [0]), b.floats('hi', [], [5])]);
  const h1 = b.op('Div', [b.op('Mul', [x, five]), b.floats('six', [], [6])]);
  b.output(b.op('Mul', [h1, b.op('HardSigmoid', [y], { alpha: 1 / 6, beta: 0.5 })]));
  const { out, counts } = await clean(b.model({ opset: 11 }), ['hardswish']);
  assert.equal(counts.hardswish, 0);
  assert.ok(!ops(out).includes('HardSwish'));
  assert.equal(out.opset(''), 11, 'no upgrade when the rule has nothing to rewrite');
});

test('all rules together on a PP-LCNet block: conv → scale/shift → HardSwish → scale/shift → depthwise conv → scale/shift → conv', async () => {
  const { b, x, conv } = start();
  const affine = (v: string, s: number, t: number) => b.op('Add', [b.op('Mul', [b.floats('s', [1], [s]), v]), b.floats('t', [1], [t])]);
  const h = affine(conv(x), 0.9, 0.2);
  const gate = b.op('Clip', [b.op('Add', [h, b.floats('three', [], [3])]), b.floats('lo', [], [0]), b.floats('hi', [], [6])]);
  const hs = affine(b.op('Div', [b.op('Mul', [h, gate]), b.floats('six', [], [6])]), 1.1, -0.3);
  const dw = affine(conv(hs, { k: 3, pad: 1, group: C }), 0.8, 0.1);
  b.output(conv(dw));
  const { out } = await clean(
    b.model({ opset: 17 }),
    CLEAN_RULES.map((r) => r.name),
  );
  assert.deepEqual(ops(out), ['Conv', 'HardSwish', 'Add', 'Conv', 'Conv']);
});
