// `edgefit serve` as a process: it prints where it listens, answers, and on SIGTERM stops accepting,
// finishes every request in flight and exits 0.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { tinyLadder } from './serve-fixtures.js';
import { runCli } from '../src/cli/test-cli.js';
import { serveListening } from '../src/cli/serve-listening.js';

const root = join(fileURLToPath(import.meta.url), '..', '..');

test('SIGTERM drains: every request sent before it is answered, then exit 0', { timeout: 60_000 }, async () => {
  // a model slow enough (a few ms a run) that requests are still queued when the signal comes
  const m = tinyLadder({ big: [1024, 1024, 1024, 1024, 10] });
  try {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'scripts', 'edgefit-dev.mjs'),
        'serve',
        m.big,
        '--port',
        '0',
        '--warmup',
        '2',
        '--deadline-ms',
        '60000',
        '--max-queue',
        '100',
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const { url, log } = await serveListening(child);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const body = JSON.stringify({ inputs: { x: { type: 'float32', dims: [1, 1024], data: new Array(1024).fill(0.1) } } });
    const sends = Array.from({ length: 30 }, () =>
      request(`${url}/v1/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }).then(async (r) => ({
        status: r.statusCode,
        body: await r.body.text(),
      })),
    );
    // SIGTERM only once the server holds all 30 (answered, queued or computing): a request still in the
    // client's connect when the listener closes was never sent, and is not what drain promises
    await Promise.race(sends);
    await untilReceived(url, 30);
    child.kill('SIGTERM');
    const got = await Promise.all(sends);
    assert.deepEqual(
      got.map((g) => g.status),
      new Array(30).fill(200),
      got.find((g) => g.status !== 200)?.body,
    );
    assert.equal(await exited, 0, log());
    assert.match(log(), /SIGTERM: draining/);
    assert.match(log(), /drained/);
    // after the drain nothing listens
    await assert.rejects(request(`${url}/healthz`));
  } finally {
    rmSync(m.dir, { recursive: true, force: true });
  }
});

test('serve starts itself again with glibc malloc tuned; a kill -9 of the parent leaves no server behind', {
  timeout: 60_000,
  skip: process.platform !== 'linux' && 'glibc malloc tuning is Linux only',
}, async () => {
  const m = tinyLadder();
  try {
    const env = { ...process.env };
    for (const k of ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_MAX_', 'EDGEFIT_MALLOC']) delete env[k];
    const args = ['--import', 'tsx', join(root, 'scripts', 'edgefit-dev.mjs'), 'serve', m.small, '--port', '0', '--warmup', '0'];
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
    const { url, log } = await serveListening(child);
    assert.match(log(), /malloc tuned/);
    const models = (await (await request(`${url}/v1/models`)).body.json()) as { runtime: { malloc: string } };
    assert.equal(models.runtime.malloc, 'tuned');
    child.kill('SIGKILL');
    // the relaunched server notices its parent is gone and stops listening
    const t0 = Date.now();
    let alive = true;
    while (alive && Date.now() - t0 < 5000) {
      alive = await request(`${url}/healthz`).then(
        (r) => r.body.text().then(() => true),
        () => false,
      );
      if (alive) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(alive, false, 'the server outlived its parent');
  } finally {
    rmSync(m.dir, { recursive: true, force: true });
  }
});

test('usage errors: no model, a bad quantile, a non-loopback host without a key, a bad batch or nice', async () => {
  const m = tinyLadder();
  try {
    const none = await runCli(['serve']);
    assert.equal(none.code, 2);
    const q = await runCli(['serve', m.small, '--quantile', '1.5']);
    assert.equal(q.code, 2);
    assert.match(q.stderr, /--quantile must be between 0 and 1/);
    const host = await runCli(['serve', m.small, '--host', '0.0.0.0', '--port', '0', '--warmup', '0']);
    assert.equal(host.code, 2);
    assert.match(host.stderr, /needs an API key/);
    const batch = await runCli(['serve', m.small, '--max-batch', '0']);
    assert.equal(batch.code, 2);
    assert.match(batch.stderr, /--max-batch/);
    const nice = await runCli(['serve', m.small, '--worker-nice', '25']);
    assert.equal(nice.code, 2);
    assert.match(nice.stderr, /--worker-nice must be an integer from 0 to 19 or 'idle', got '25'/);
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const idle = await runCli(['serve', m.small, '--worker-nice', 'idle']);
      assert.equal(idle.code, 2);
      assert.match(idle.stderr, /--worker-nice idle needs Linux and util-linux's chrt/);
    } finally {
      process.env.PATH = path;
    }
  } finally {
    rmSync(m.dir, { recursive: true, force: true });
  }
});

/** Polls /metrics until answered + queued + computing requests reach n (at most 20 s). */
async function untilReceived(url: string, n: number): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    const text = await (await request(`${url}/metrics`)).body.text();
    let got = 0;
    for (const m of text.matchAll(/^edgefit_serve_(?:requests_total\{[^}]*\}|queue_depth|in_flight) (\d+)/gm)) got += Number(m[1]);
    if (got >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the server did not receive ${n} requests within 20 s`);
}
