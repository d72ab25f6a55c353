// The speed guard's verdict at its edges, from samples chosen by hand: a speed-up of exactly 1 is not a
// loss, exactly 1 + margin is a win only when most rounds agree, a round at exactly 1 does not agree;
// and the timing figures and summary lines exactly. Then guardSpeed's options on a real (tiny) model.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { guardSpeed, judge } from './guard.js';

const fill = (n: number, v: number) => Array.from({ length: n }, () => v);

test('timing figures: median of an even count, p90 by rank floor(0.9·n) capped at the last, mean, min, count', () => {
  // 15 values: p90 is rank floor(13.5) = 13 → the 14th smallest
  const b = [15, 3, 9, 1, 12, 7, 5, 14, 2, 11, 8, 4, 13, 6, 10];
  const c = [4, 1, 3, 2]; // even count: median (2 + 3) / 2
  const r = judge(b, c, [2], 0.03, 1);
  assert.deepEqual(r.baseline, { p50: 8, p90: 14, mean: 8, min: 1, count: 15 });
  assert.deepEqual(r.candidate, { p50: 2.5, p90: 4, mean: 2.5, min: 1, count: 4 });
  assert.equal(r.speedup, 8 / 2.5);
  assert.equal(r.speedupMin, 1);
  // 20 values: rank 18 (the 19th), not the last
  const twenty = Array.from({ length: 20 }, (_, i) => 20 - i);
  assert.equal(judge(twenty, twenty, [1], 0.03, 1).baseline.p90, 19);
  assert.equal(judge([5], [5], [1], 0.03, 1).baseline.p90, 5);
  assert.deepEqual(r.roundSpeedups, [2]);
  assert.equal(r.machine.threads, 1);
  assert.equal(judge(b, c, [2], 0.03, 3).machine.threads, 3);
});

test('a speed-up of exactly 1 is unchanged, just under 1 is SLOWER, exactly 1 + margin is faster', () => {
  assert.equal(judge(fill(10, 2), fill(10, 2), [1.5, 1.5, 1.5], 0.03, 1).verdict, 'unchanged');
  assert.equal(judge(fill(10, 2), fill(10, 2.0001), [1.5, 1.5, 1.5], 0.03, 1).verdict, 'slower');
  // 1.5 / 1 = 1 + 0.5 exactly
  assert.equal(judge(fill(10, 1.5), fill(10, 1), [2, 2, 2], 0.5, 1).verdict, 'faster');
  assert.equal(judge(fill(10, 1.5), fill(10, 1.0001), [2, 2, 2], 0.5, 1).verdict, 'unchanged');
  // a loss, however small, is never rounded into 'unchanged', whatever the rounds say
  assert.equal(judge(fill(10, 1), fill(10, 1.001), [2, 2, 2], 0, 1).verdict, 'slower');
});

test('faster needs more than half the rounds to be above 1; a round at exactly 1 does not count', () => {
  const v = (rounds: number[]) => judge(fill(10, 2), fill(10, 1), rounds, 0.03, 1).verdict;
  assert.equal(v([2, 2, 0.5, 0.5]), 'unchanged', 'half is not most');
  assert.equal(v([2, 2, 2, 0.5]), 'faster');
  assert.equal(v([1, 1, 1.2, 1.2]), 'unchanged', 'rounds at exactly 1 do not agree');
  assert.equal(v([1, 1.2, 1.2]), 'faster');
  assert.equal(v([2]), 'faster');
  assert.equal(v([1]), 'unchanged');
});

test('the summary line of each verdict', () => {
  assert.equal(judge(fill(4, 1.5), fill(4, 1), [2, 2], 0.03, 1).summary, '1.50× faster than the input (p50 1.500 → 1.000 ms)');
  assert.equal(judge(fill(4, 10), fill(4, 20), [0.5], 0.03, 1).summary, "SLOWER than the input: 2.00× the input's latency (p50 10.0 → 20.0 ms)");
  assert.equal(
    judge(fill(4, 9.99), fill(4, 9.9), [1.01], 0.025, 1).summary,
    'no measurable speed-up over the input (1.01×, within 3% noise) (p50 9.990 → 9.900 ms)',
  );
});

function model(slow: boolean) {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [1, 64]);
  let y = b.op('MatMul', [x, b.floats('w', [64, 10], new Float32Array(640).fill(0.01))]);
  if (slow) {
    // About 5 M multiply-adds against 640: a win of tens of times, so a loaded CI machine that pre-empts
    // one run of a round cannot bring that round's ratio near 1 (a 6× lighter version once read 1.38).
    let h = b.op('MatMul', [x, b.floats('w1', [64, 1024], new Float32Array(64 * 1024).fill(0.01))]);
    for (let k = 0; k < 4; k++) h = b.op('MatMul', [h, b.floats(`w2_${k}`, [1024, 1024], new Float32Array(1024 * 1024).fill(0.001))]);
    y = b.op('Add', [y, b.op('Mul', [b.op('ReduceSum', [h], { keepdims: 1 }), b.scalar('zero', 0)])]);
  }
  b.output(b.op('Identity', [y], {}, { outputs: ['y'] }), DataType.FLOAT, [1, 10]);
  return b.model({ opset: 13 });
}

test('guardSpeed: rounds, iterations and threads as asked, defaults 6 × 20, every round of a clear win above 1', async () => {
  const r = await guardSpeed(model(true), model(false), { rounds: 3, iterations: 4, warmup: 1, threads: 2 });
  assert.equal(r.roundSpeedups.length, 3);
  assert.equal(r.baseline.count, 12);
  assert.equal(r.candidate.count, 12);
  assert.equal(r.machine.threads, 2);
  // Interleaved A B / B A: each round's samples stay with their model, so each round shows the win. A round is
  // only 4 runs of each, and a loaded CI machine that pre-empts one of them once cut a round's ratio to 1.36
  // against 6.8 in the others: so each round must be above 1 (mixed-up samples read near or below 1), and the
  // pooled speed-up well above it.
  for (const s of r.roundSpeedups) assert.ok(s > 1, `round speed-up ${s} (${r.roundSpeedups.join(', ')})`);
  assert.ok(r.speedup > 2, `speed-up ${r.speedup}`);
  const d = await guardSpeed(model(false), model(false), { warmup: 0 });
  assert.equal(d.roundSpeedups.length, 6);
  assert.equal(d.baseline.count, 120);
  assert.equal(d.machine.threads, 1);
});
