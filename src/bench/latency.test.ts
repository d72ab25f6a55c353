import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { UsageError } from '../onnx/errors.js';
import { measureLatency, type Progress, type Runnable } from './latency.js';

/** A fake session whose run takes `ms` of wall time (busy-waits) and counts its calls. */
function fake(ms: number): Runnable & { calls: number } {
  const f = {
    calls: 0,
    async run() {
      f.calls++;
      const end = performance.now() + ms;
      while (performance.now() < end);
      return {};
    },
  };
  return f;
}

test('iterations mode: warm-up runs are untimed, every timed run gives one sample', async () => {
  const s = fake(2);
  const r = await measureLatency(s, {}, { warmup: 3, iterations: 20 });
  assert.equal(s.calls, 23);
  assert.equal(r.count, 20);
  assert.equal(r.samplesMs.length, 20);
  assert.equal(r.warmup, 3);
  assert.ok(r.min >= 2, 'each sample covers the whole run');
  const sum = r.samplesMs.reduce((a, b) => a + b, 0);
  assert.ok(sum <= r.totalMs + 1e-6, 'samples lie inside the measured span (warm-up excluded)');
  assert.ok(Math.abs(r.throughput - (20 * 1000) / r.totalMs) < 1e-9);
});

test('duration mode runs until the time is up, and at least minIterations', async () => {
  const s = fake(5);
  const r = await measureLatency(s, {}, { warmup: 0, durationMs: 60 });
  assert.ok(r.totalMs >= 60);
  assert.ok(r.count >= 5 && r.count <= 13, `count ${r.count}`);
  const slow = await measureLatency(fake(5), {}, { warmup: 0, durationMs: 1, minIterations: 4 });
  assert.equal(slow.count, 4);
  // a fast model in a long duration stops at maxIterations instead of piling up samples
  const capped = await measureLatency(fake(0), {}, { warmup: 0, durationMs: 10_000, maxIterations: 50 });
  assert.equal(capped.count, 50);
  assert.equal(capped.samplesMs.length, 50);
  assert.ok(capped.totalMs < 5_000);
});

test('progress is reported for warm-up and measurement, and the last report is complete', async () => {
  const seen: Progress[] = [];
  await measureLatency(fake(1), {}, { warmup: 2, iterations: 10, onProgress: (p) => seen.push(p), progressIntervalMs: 0 });
  assert.ok(seen.some((p) => p.phase === 'warmup'));
  const last = seen[seen.length - 1]!;
  assert.equal(last.phase, 'measure');
  assert.equal(last.done, 10);
  assert.equal(last.total, 10);
});

test('bad counts are usage errors', async () => {
  await assert.rejects(measureLatency(fake(0), {}, { iterations: 0 }), UsageError);
  await assert.rejects(measureLatency(fake(0), {}, { warmup: -1 }), UsageError);
  await assert.rejects(measureLatency(fake(0), {}, { iterations: 5, durationMs: 100 }), /not both/);
  await assert.rejects(measureLatency(fake(0), {}, { durationMs: 0 }), UsageError);
  // huge values are refused up front, not met later by "Invalid array length" or a timer that overflows
  await assert.rejects(measureLatency(fake(0), {}, { iterations: 99_999_999_999 }), /iterations must be at most/);
  await assert.rejects(measureLatency(fake(0), {}, { durationMs: 1e12 }), /duration must be at most/);
  await assert.rejects(measureLatency(fake(0), {}, { warmup: 99_999_999_999, iterations: 1 }), /warmup must be at most/);
});

test('warmupMs: the untimed runs go on until that long has passed, never fewer than warmup, none with warmup 0', async () => {
  // timed by the calls' start times, not by counts: under load a 5-ms busy run takes longer
  const starts: number[] = [];
  const s = fake(5);
  const run = s.run.bind(s);
  s.run = (feeds) => (starts.push(performance.now()), run(feeds));
  const r = await measureLatency(s, {}, { warmup: 2, warmupMs: 60, iterations: 3 });
  assert.equal(s.calls, r.warmup + 3);
  assert.ok(r.warmup > 2, `the time kept it going past the count (${r.warmup} runs)`);
  const warm = starts.slice(0, r.warmup);
  assert.ok(starts[r.warmup]! - warm[0]! >= 60, 'the warm-up lasted the time asked');
  assert.ok(warm.at(-1)! - warm[0]! < 60, 'and no warm-up run started after it');
  const many = await measureLatency(fake(5), {}, { warmup: 20, warmupMs: 10, iterations: 1 });
  assert.equal(many.warmup, 20, 'the count is a floor');
  const none = fake(1);
  const off = await measureLatency(none, {}, { warmup: 0, warmupMs: 50, iterations: 2 });
  assert.deepEqual([off.warmup, none.calls], [0, 2], 'warmup 0 asks for no warm-up at all');
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
    await assert.rejects(measureLatency(fake(1), {}, { warmupMs: bad, iterations: 1 }), UsageError, String(bad));
});
