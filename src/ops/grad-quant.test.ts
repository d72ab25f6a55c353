// The STE rows of QuantizeLinear → DequantizeLinear against their definition: the forward is ORT's own
// Q/DQ (checked against a reference quantizer with round-half-to-even), and d loss/dx = dy where the
// code did not clip, 0 where it did, per tensor (uint8) and per channel (int8, axis 0).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { buildBackward } from '../train/backward.js';
import { probeFacts } from '../train/probe.js';
import { mulberry32 } from '../util/rng.js';

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

interface QCase {
  name: string;
  shape: number[];
  scale: number[];
  zp: number[];
  dt: number;
  axis?: number;
}

const CASES: QCase[] = [
  { name: 'uint8 per tensor', shape: [3, 8], scale: [0.05], zp: [100], dt: DataType.UINT8 },
  { name: 'int8 per channel axis 0', shape: [4, 6], scale: [0.01, 0.02, 0.03, 0.04], zp: [0, 0, 0, 0], dt: DataType.INT8, axis: 0 },
];

for (const c of CASES)
  test(`Q→DQ in the training graph: ORT's values forward, STE with clipping backward (${c.name})`, async () => {
    const r = mulberry32(7);
    const n = c.shape.reduce((p, q) => p * q, 1);
    // wide enough that some values clip on both sides
    const x = Float32Array.from({ length: n }, () => (r() * 2 - 1) * 8);
    const w = Float32Array.from({ length: n }, () => r() * 2 - 1);
    const b = new GraphBuilder('qdq');
    const xi = b.input('x', DataType.FLOAT, c.shape);
    const per = c.scale.length > 1;
    const s = b.constant('s', Tensor.fromNumbers('s', DataType.FLOAT, per ? [c.scale.length] : [], c.scale));
    const z = b.constant('z', Tensor.fromNumbers('z', c.dt, per ? [c.zp.length] : [], c.zp));
    const attrs: Record<string, number> = c.axis !== undefined ? { axis: c.axis } : {};
    const q = b.op('QuantizeLinear', [xi, s, z], attrs);
    const y = b.op('DequantizeLinear', [q, s, z], attrs, { outputs: ['y'] });
    const loss = b.op('ReduceSum', [b.op('Mul', [y, b.constant('w', Tensor.fromFloat32('w', c.shape, w))])], { keepdims: 0 });
    b.output(loss, DataType.FLOAT, []);
    b.output('y', DataType.FLOAT, c.shape);
    const m = b.model({ opset: 17 });
    const feeds = { x: new ort.Tensor('float32', x, c.shape) };
    const facts = await probeFacts(m, feeds);
    const grads = buildBackward(m.graph, loss, ['x'], facts, 17);
    m.graph.outputs.push({ name: grads.get('x')! });
    const sess = await createSession(m);
    const out = await sess.run(feeds);
    await sess.release();
    const gotY = out.y!.data as Float32Array;
    const gotG = out[grads.get('x')!]!.data as Float32Array;
    const [qmin, qmax] = c.dt === DataType.UINT8 ? [0, 255] : [-128, 127];
    const inner = c.shape.slice(1).reduce((p, q) => p * q, 1);
    let clipped = 0;
    for (let i = 0; i < n; i++) {
      const ch = per ? Math.floor(i / inner) : 0;
      const sc = Math.fround(c.scale[ch]!);
      const zp = c.zp[ch]!;
      const raw = roundHalfEven(Math.fround(x[i]! / sc)) + zp;
      const code = Math.min(qmax, Math.max(qmin, raw));
      assert.equal(gotY[i], Math.fround((code - zp) * sc), `forward value ${i}`);
      const inside = raw >= qmin && raw <= qmax;
      if (!inside) clipped++;
      const want = inside ? w[i]! : 0;
      assert.ok(Math.abs(gotG[i]! - want) <= 1e-6 * (1 + Math.abs(want)), `${c.name}: dx[${i}] ${gotG[i]} vs STE ${want} (x ${x[i]}, code ${raw})`);
    }
    assert.ok(clipped > 0 && clipped < n, `the case exercises both sides of the clip (${clipped} of ${n} clipped)`);
  });

for (const c of CASES)
  test(`a learned scale through Q→DQ gets LSQ's step-size gradient: round(x/s) − x/s inside, the clipped level outside (${c.name})`, async () => {
    const r = mulberry32(11);
    const n = c.shape.reduce((p, q) => p * q, 1);
    const x = Float32Array.from({ length: n }, () => (r() * 2 - 1) * 8);
    const w = Float32Array.from({ length: n }, () => r() * 2 - 1);
    const per = c.scale.length > 1;
    const sDims = per ? [c.scale.length] : [];
    const b = new GraphBuilder('lsq');
    const xi = b.input('x', DataType.FLOAT, c.shape);
    // s = s0 · σ, σ = 1: dL/dσ = s0 · dL/ds
    const s0 = b.constant('s0', Tensor.fromNumbers('s0', DataType.FLOAT, sDims, c.scale));
    const sigma = b.floats('sigma', sDims, new Float32Array(c.scale.length).fill(1));
    const s = b.op('Mul', [s0, sigma]);
    const z = b.constant('z', Tensor.fromNumbers('z', c.dt, sDims, c.zp));
    const attrs: Record<string, number> = c.axis !== undefined ? { axis: c.axis } : {};
    const y = b.op('DequantizeLinear', [b.op('QuantizeLinear', [xi, s, z], attrs), s, z], attrs);
    const loss = b.op('ReduceSum', [b.op('Mul', [y, b.constant('w', Tensor.fromFloat32('w', c.shape, w))])], { keepdims: 0 });
    b.output(loss, DataType.FLOAT, []);
    const m = b.model({ opset: 17 });
    const feeds = { x: new ort.Tensor('float32', x, c.shape) };
    const grads = buildBackward(m.graph, loss, ['sigma'], await probeFacts(m, feeds), 17);
    m.graph.outputs.push({ name: grads.get('sigma')! });
    const sess = await createSession(m);
    const got = (await sess.run(feeds))[grads.get('sigma')!]!.data as Float32Array;
    await sess.release();
    const [qmin, qmax] = c.dt === DataType.UINT8 ? [0, 255] : [-128, 127];
    const inner = c.shape.slice(1).reduce((p, q) => p * q, 1);
    const want = new Float64Array(c.scale.length);
    for (let i = 0; i < n; i++) {
      const ch = per ? Math.floor(i / inner) : 0;
      const sc = Math.fround(c.scale[ch]!);
      const zp = c.zp[ch]!;
      const v = x[i]! / sc;
      const raw = roundHalfEven(v) + zp;
      const code = Math.min(qmax, Math.max(qmin, raw));
      const dyds = raw >= qmin && raw <= qmax ? code - zp - v : code - zp;
      want[ch] = want[ch]! + w[i]! * dyds * sc;
    }
    assert.equal(got.length, c.scale.length);
    for (let k = 0; k < want.length; k++)
      assert.ok(Math.abs(got[k]! - want[k]!) <= 1e-4 * (1 + Math.abs(want[k]!)), `${c.name}: dL/dσ[${k}] ${got[k]} vs LSQ ${want[k]}`);
  });
