import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { pidAlive, runChild, sweepStaleTempDirs } from './child.js';

const tsx = import.meta.resolve('tsx');
const childUrl = new URL('./child.ts', import.meta.url).href;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A worker script in `dir` that serves requests with `body` (the text of an async function of the request). */
function workerScript(dir: string, body: string): string {
  const p = join(dir, 'worker.mjs');
  writeFileSync(p, `import { writeFileSync } from 'node:fs';\nimport { serveWorker } from ${JSON.stringify(childUrl)};\nawait serveWorker(${body});\n`);
  return p;
}

test('a child that runs out of heap is reported as out of memory while building the candidate, without a V8 backtrace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-child-'));
  try {
    const script = workerScript(dir, 'async () => { const keep = []; for (;;) keep.push(new Array(1e5).fill(Math.random())); }');
    await assert.rejects(
      runChild('test-worker', ['--max-old-space-size=24', '--import', tsx, script], {}, 60_000, 'building quant-b'),
      (e: unknown) =>
        e instanceof EdgefitError && e.code === 'E_WORKER_OOM' && /^out of memory while building quant-b/.test(e.message) && !/0x[0-9a-f]{6}/.test(e.message),
    );
    // a child that fails otherwise keeps its own message
    const bad = workerScript(dir, 'async () => { process.stderr.write("boom: no such thing\\n"); process.exit(3); }');
    await assert.rejects(runChild('test-worker', ['--import', tsx, bad], {}, 60_000, 'building x'), /building x exited with 3: boom: no such thing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kill -9 of the parent: its child (busy in synchronous code) dies within seconds; the next start sweeps the temp folder', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-child-'));
  const pidFile = join(dir, 'child.pid');
  let childPid = 0;
  try {
    const script = workerScript(
      dir,
      `async () => { writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); const end = Date.now() + 120000; while (Date.now() < end); return 1; }`,
    );
    const parentCode = `const { runChild } = await import(${JSON.stringify(childUrl)});
      await runChild('test-worker', ['--import', ${JSON.stringify(tsx)}, ${JSON.stringify(script)}], {}, 300000, 'building x');`;
    const parent = spawn(process.execPath, ['--import', tsx, '--input-type=module', '-e', parentCode], { stdio: 'ignore' });
    for (let k = 0; k < 300 && !existsSync(pidFile); k++) await sleep(100);
    childPid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(pidAlive(childPid));
    const tempOf = () => readdirSync(tmpdir()).filter((n) => n.startsWith(`edgefit-test-worker-${parent.pid}-`));
    assert.equal(tempOf().length, 1, 'the parent made its temp folder');
    parent.kill('SIGKILL');
    const t0 = Date.now();
    while (pidAlive(childPid) && Date.now() - t0 < 10_000) await sleep(100);
    assert.ok(!pidAlive(childPid), 'the child outlived its parent by 10 s');
    assert.ok(Date.now() - t0 < 5000, `the child took ${Date.now() - t0} ms to die`);
    // killed outright, the parent could not clean up; the next start does
    assert.equal(tempOf().length, 1);
    assert.ok(sweepStaleTempDirs() >= 1);
    assert.equal(tempOf().length, 0);
    // a live owner's folder is left alone
    const mine = join(tmpdir(), `edgefit-test-worker-${process.pid}-keep`);
    mkdirSync(mine, { recursive: true });
    sweepStaleTempDirs();
    assert.ok(existsSync(mine));
    rmSync(mine, { recursive: true });
  } finally {
    // should the watchdog fail, the test must not leave a busy orphan behind
    if (childPid && pidAlive(childPid)) process.kill(childPid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
