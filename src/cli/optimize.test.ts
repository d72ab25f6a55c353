import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModel } from '../onnx/write-model.js';
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
    for (const extra of [['--time-limit', '0'], ['--threads', '1000'], ['--screen-seconds', '1e9'], ['--full-seconds', '0']]) {
      const r = await runCli(['optimize', model, '--budget', 'p99<=1ms', '-o', out, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^edgefit: error: /);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      assert.ok(!existsSync(out), `${extra.join(' ')}: no run directory`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
