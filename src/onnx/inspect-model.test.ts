import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { readFileSync, statSync } from 'node:fs';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { decodeMessage, type ProtoObject } from './protobuf.js';
import * as S from './onnx-schema.js';
import { inspectModel, inspectModelFile } from './inspect-model.js';
import { PADDLE } from './test-models.js';

/** Counts elements of constant tensors straight from the protobuf, without the IR or inspect's code. */
function rawCount(path: string): { elements: number; tensors: number } {
  const proto = decodeMessage(readFileSync(path), S.Model);
  let elements = 0;
  let tensors = 0;
  const visitGraph = (g: ProtoObject) => {
    for (const t of g.initializer as ProtoObject[]) {
      elements += (t.dims as number[]).reduce((a, b) => a * b, 1);
      tensors++;
    }
    for (const n of g.node as ProtoObject[]) {
      for (const a of n.attribute as ProtoObject[]) {
        if (n.op_type === 'Constant' && a.name === 'value') {
          elements += ((a.t as ProtoObject).dims as number[]).reduce((x, y) => x * y, 1);
          tensors++;
        }
        if (a.g) visitGraph(a.g as ProtoObject);
      }
    }
  };
  visitGraph(proto.graph as ProtoObject);
  return { elements, tensors };
}

for (const [name, m] of Object.entries(PADDLE)) {
  test(`PaddleOCR ${name}: parameter count agrees with a count taken from the raw protobuf`, () => {
    const r = inspectModelFile(m.path);
    const raw = rawCount(m.path);
    assert.equal(r.parameters.count, raw.elements);
    assert.equal(
      r.parameters.byDtype.reduce((a, d) => a + d.tensors, 0),
      raw.tensors,
    );
    assert.equal(r.parameters.inConstantNodes.count, raw.elements, 'Paddle keeps every weight in Constant nodes');
    // the weights are nearly the whole file: float32 bytes are 4 × elements and fill ≥ 90 % of it (the rest is names and node structure)
    const f32 = r.parameters.byDtype.find((d) => d.dtype === 'float32')!;
    assert.equal(f32.bytes, 4 * f32.count);
    const size = statSync(m.path).size;
    assert.equal(r.file.bytes, size);
    assert.ok(f32.bytes > 0.9 * size && f32.bytes < size, `${f32.bytes} of ${size}`);
    assert.equal(r.inputs[0]!.name, 'x');
    assert.equal(r.inputs[0]!.shape![1], 3);
    assert.equal(typeof r.inputs[0]!.shape![0], 'string');
    assert.equal(r.ops.find((o) => o.opType === 'Conv')!.count, r.macs.byOpType.find((o) => o.opType === 'Conv')!.nodes);
    const full = inspectModelFile(m.path, { shapes: { x: [...m.shape] } });
    assert.ok(full.macs.complete && full.macs.total > 1e6, JSON.stringify(full.macs));
  });
}

test('MACs by hand: Conv, grouped Conv, MatMul with batch, Gemm; symbolic batch counts as 1', () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['N', 4, 10, 10]);
  // 8 out channels, 3x3, pads 1: out [1,8,10,10]; MACs = 800 × 4×3×3 = 28800
  const c = b.op('Conv', [x, b.floats('w', [8, 4, 3, 3], new Float32Array(288))], { pads: [1, 1, 1, 1] });
  // depthwise on 8 channels, 3x3 stride 2 no pad: out [1,8,4,4]; MACs = 128 × 1×3×3 = 1152
  const d = b.op('Conv', [c, b.floats('dw', [8, 1, 3, 3], new Float32Array(72))], { group: 8, strides: [2, 2] });
  const f = b.op('Reshape', [d, b.int64s('s', [0, 8, 16])]);
  // [1,8,16] × [16,5] → [1,8,5]: 40 × 16 = 640
  const mm = b.op('MatMul', [f, b.floats('m', [16, 5], new Float32Array(80))]);
  const g = b.op('Flatten', [mm]);
  // [1,40] × [40,3]ᵀ stored [3,40], transB → 3 × 40 = 120
  b.output(b.op('Gemm', [g, b.floats('gw', [3, 40], new Float32Array(120))], { transB: 1 }));
  const r = inspectModel(b.model());
  assert.deepEqual(r.macs.inputShapes, { x: [1, 4, 10, 10] });
  const by = Object.fromEntries(r.macs.byOpType.map((e) => [e.opType, e.macs]));
  assert.deepEqual(by, { Conv: 28800 + 1152, MatMul: 640, Gemm: 120 });
  assert.equal(r.macs.total, 30712);
  assert.ok(r.macs.complete);
  assert.equal(r.parameters.count, 288 + 72 + 3 + 80 + 120);
  assert.deepEqual(
    r.parameters.byDtype.map((d) => d.dtype),
    ['float32', 'int64'],
  );
  assert.equal(inspectModel(b.model(), { shapes: { x: [4, 4, 10, 10] } }).macs.total, 4 * 30712);
  // a shape that contradicts the declared rank or a fixed dim is refused, not estimated
  assert.throws(() => inspectModel(b.model(), { shapes: { x: [1, 4] } }), /has 2 dims, but the model declares 4/);
  assert.throws(() => inspectModel(b.model(), { shapes: { x: [1, 5, 10, 10] } }), /sets dim 1 to 5, but the model fixes it at 4/);
});
