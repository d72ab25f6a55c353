import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { RunDir, type RunSpec } from './run-dir.js';

const spec = (sha: string, ref = 'serials', threads = 1): RunSpec => ({
  schema: 'edgefit.optimize.run/1',
  command: ['optimize'],
  source: { path: `/models/${sha}/model.onnx`, sha256: sha },
  task: { ref, dataSha256: 'd', limit: 10 },
  budget: ['p99<=6ms'],
  quality: [],
  objective: 'p99',
  threads,
  timeLimitSec: 60,
  measurement: { warmup: 1 },
});

test("a run directory holding another model's or task's run is left alone, not overwritten", () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-rundir-'));
  try {
    new RunDir(dir, spec('aaa')).open();
    const before = readFileSync(join(dir, 'run.json'), 'utf8');
    for (const other of [spec('bbb'), spec('aaa', 'mnist')])
      assert.throws(
        () => new RunDir(dir, other).open(),
        (e: unknown) => e instanceof EdgefitError && e.code === 'E_RUN_DIR' && /holds the run of another/.test(e.message) && /--out/.test(e.hint ?? ''),
      );
    assert.equal(readFileSync(join(dir, 'run.json'), 'utf8'), before, 'run.json untouched');
    // the same model and task with other settings is a rerun
    new RunDir(dir, spec('aaa', 'serials', 2)).open();
    new RunDir(dir, spec('aaa')).open();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
