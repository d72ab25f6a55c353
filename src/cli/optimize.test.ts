import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModel } from '../onnx/write-model.js';
import { DataType, GraphBuilder } from '../onnx/index.js';
import { mlp } from '../zoo/index.js';
import { parseDuration } from './optimize.js';
import { runCli } from './test-cli.js';

test('parseDuration: units, and a zero or negative time limit is refused', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('600'), 600_000);
  for (const bad of ['0', '0.0', '0s', '-5m', 'abc', '1h30']) assert.throws(() => parseDuration(bad), /duration/, bad);
});

test('optimize: flags out of range are usage errors before any run directory is made', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-optimize-cli-'));
  try {
    const model = join(dir, 'mlp.onnx');
    writeModel(mlp({ sizes: [8, 8, 4] }), model);
    const out = join(dir, 'run');
    for (const extra of [
      ['--time-limit', '0'],
      ['--threads', '1000'],
      ['--screen-seconds', '1e9'],
      ['--full-seconds', '0'],
    ]) {
      const r = await runCli(['optimize', model, '--budget', 'p99<=1ms', '-o', out, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^edgefit: error: /);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      assert.ok(!existsSync(out), `${extra.join(' ')}: no run directory`);
    }
    // a dim no flag settles: the --shape to give, up front (not a failed baseline after the set-up)
    const b = new GraphBuilder('open');
    b.output(b.op('MatMul', [b.input('x', DataType.FLOAT, ['batch', 'width', 8]), b.floats('w', [8, 4], new Float32Array(32))]));
    const open = join(dir, 'open.onnx');
    writeModel(b.model({ opset: 17 }), open);
    const r = await runCli(['optimize', open, '--budget', 'p99<=1ms', '-o', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /dim 1 \('width'\)[\s\S]*hint: give the full shape: --shape x=1,<width>,8/);
    assert.ok(!existsSync(out), 'no run directory');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
