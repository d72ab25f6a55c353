import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { guardSpeed, judge } from './guard.js';

function weights(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.1);
}

/** x [1, 64] → MatMul → y; with `slow`, a 64→1024→1024 branch is computed and added times 0. */
function model(slow: boolean) {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [1, 64]);
  let y = b.op('MatMul', [x, b.floats('w', [64, 10], weights(640, 1))]);
  if (slow) {
    let h = b.op('MatMul', [x, b.floats('w1', [64, 1024], weights(64 * 1024, 2))]);
    for (let k = 0; k < 3; k++) h = b.op('MatMul', [h, b.floats(`w2_${k}`, [1024, 1024], weights(1024 * 1024, 3 + k))]);
    const s = b.op('ReduceSum', [h], { keepdims: 1 });
    y = b.op('Add', [y, b.op('Mul', [s, b.scalar('zero', 0)])]);
  }
  b.output(b.op('Identity', [y], {}, { outputs: ['y'] }), DataType.FLOAT, [1, 10]);
  return b.model({ opset: 13 });
}

test('the guard calls a deliberately slow variant SLOWER, never an improvement', async () => {
  const r = await guardSpeed(model(false), model(true), { rounds: 4, iterations: 10, warmup: 2 });
  assert.equal(r.verdict, 'slower');
  assert.ok(r.speedup < 1, `speedup ${r.speedup}`);
  assert.match(r.summary, /^SLOWER than the input/);
  assert.equal(r.roundSpeedups.length, 4);
  assert.equal(r.machine.threads, 1);
  assert.equal(r.baseline.count, 40);
});

test('the same guard calls the fast side faster when the roles swap', async () => {
  const r = await guardSpeed(model(true), model(false), { rounds: 4, iterations: 10, warmup: 2 });
  assert.equal(r.verdict, 'faster');
  assert.ok(r.speedup > 1.5, `speedup ${r.speedup}`);
  assert.match(r.summary, /faster than the input/);
});

test('judge: any pooled loss is slower; a gain inside the margin is unchanged', () => {
  const same = Array.from({ length: 20 }, () => 1);
  assert.equal(
    judge(
      same,
      same.map(() => 1.01),
      [0.99],
      0.03,
      1,
    ).verdict,
    'slower',
  );
  assert.equal(
    judge(
      same,
      same.map(() => 0.99),
      [1.01],
      0.03,
      1,
    ).verdict,
    'unchanged',
  );
  assert.equal(
    judge(
      same,
      same.map(() => 0.5),
      [2, 2, 2],
      0.03,
      1,
    ).verdict,
    'faster',
  );
  // Pooled gain but most rounds lost: not called faster.
  assert.equal(
    judge(
      same,
      same.map(() => 0.9),
      [1.2, 0.95, 0.97],
      0.03,
      1,
    ).verdict,
    'unchanged',
  );
});
