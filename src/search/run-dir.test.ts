import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { RunDir, type RunSpec } from './run-dir.js';
import type { CandidateResult } from './types.js';

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

test('a run locks its directory: a second run fails with a clear message; a dead run’s lock is taken over with a note', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-rundir-'));
  const holder = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--input-type=module',
      '-e',
      `const { RunDir } = await import(${JSON.stringify(new URL('./run-dir.ts', import.meta.url).href)});
       new RunDir(${JSON.stringify(dir)}, JSON.parse(${JSON.stringify(JSON.stringify(spec('aaa')))})).open();
       console.log('locked'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    const lock = JSON.parse(readFileSync(join(dir, '.lock'), 'utf8'));
    assert.equal(lock.pid, holder.pid);
    assert.ok(Date.parse(lock.startedAt) > 0);
    assert.throws(
      () => new RunDir(dir, spec('aaa')).open(),
      (e: unknown) =>
        e instanceof EdgefitError &&
        e.code === 'E_RUN_LOCKED' &&
        new RegExp(`in use by another optimize run \\(pid ${holder.pid} on .*, started ${lock.startedAt}\\)`).test(e.message) &&
        /another --out/.test(e.hint ?? ''),
    );
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    const rd = new RunDir(dir, spec('aaa')).open();
    assert.match(rd.lockNote ?? '', new RegExp(`took over the lock .* from a run that is gone \\(pid ${holder.pid}`));
    assert.equal(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')).pid, process.pid);
    rd.close();
    assert.ok(!existsSync(join(dir, '.lock')), 'close releases the lock');
  } finally {
    holder.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed candidate is retried once on resume, then stays failed; attempts are recorded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-rundir-'));
  try {
    const failed = (error: string): CandidateResult => ({ id: 'c1', config: { label: 'c1' } as never, status: 'failed', error, passRecords: [] });
    const stored = () => JSON.parse(readFileSync(join(dir, 'candidates', 'c1', 'result.json'), 'utf8'));
    // run 1: fails (written twice, as the search does: when measured and with its verdict)
    let rd = new RunDir(dir, spec('aaa')).open();
    assert.equal(rd.readResult('c1'), undefined);
    rd.writeResult(failed('out of memory while building c1'));
    rd.writeResult(failed('out of memory while building c1'));
    rd.close();
    assert.equal(stored().attempts, 1);
    // run 2 (resume): not reused, so tried again; fails again
    rd = new RunDir(dir, spec('aaa')).open();
    assert.equal(rd.readResult('c1'), undefined, 'retried once');
    rd.writeResult(failed('out of memory while building c1'));
    rd.close();
    assert.equal(stored().attempts, 2);
    assert.match(stored().error, /failed 2 times; not retried/);
    // run 3: failed for good, reused as it is
    rd = new RunDir(dir, spec('aaa')).open();
    const r = rd.readResult('c1');
    assert.equal(r?.status, 'failed');
    assert.equal(rd.attempts('c1'), 2);
    rd.writeResult(r!);
    rd.close();
    assert.equal(stored().attempts, 2, 'rewriting a reused result is not an attempt');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
