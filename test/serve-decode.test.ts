// Image bodies are decoded on a decode worker, never on the server's main thread, and a request the
// server cannot serve in time is refused on its headers before anything decodes it: its 503 comes back
// while a slow decode is still running for another request.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { request } from 'undici';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { resolveLadder } from '../src/serve/ladder.js';
import type { DecodePool } from '../src/serve/decode-pool.js';
import { png, tinyLadder, TINY_SPEC, until } from './serve-fixtures.js';

const models = tinyLadder();
let server: RunningServer;
let pool: DecodePool;

before(async () => {
  server = await startServer({
    ladder: resolveLadder([models.small]),
    port: 0,
    warmup: 3,
    spec: TINY_SPEC,
    bodyLimit: 16 * 2 ** 20,
    maxPixels: 20_000_000,
    decodeWorkers: 1,
  });
  pool = server.settings.images as DecodePool;
});
after(async () => {
  await server.close();
  rmSync(models.dir, { recursive: true, force: true });
});

const postImage = (body: Buffer, headers: Record<string, string> = {}) =>
  request(`${server.url}/v1/infer`, { method: 'POST', body, headers: { 'content-type': 'image/png', ...headers } });

test('an image is decoded on the decode worker and answered with its decode time', async () => {
  assert.equal(pool.times.count, 0, 'the start-up warm-up decodes are not kept as decode times');
  const calls = pool.calls;
  const r = await postImage(png(16, 16));
  assert.equal(r.statusCode, 200);
  const b = (await r.body.json()) as { result: { label: string }; timing: Record<string, number> };
  assert.ok(['ok', 'scratch', 'dent'].includes(b.result.label));
  assert.equal(pool.calls, calls + 1);
  assert.ok(b.timing.decode_ms! > 0 && b.timing.decode_ms! <= b.timing.total_ms!, JSON.stringify(b.timing));
  assert.ok(pool.times.count >= 1, 'the decode time is measured for admission');
});

test('bytes that pass the header checks but do not decode: 400 from the decode worker, and the server goes on', async () => {
  const good = png(16, 16);
  const bad = Buffer.concat([good.subarray(0, 33), Buffer.alloc(64, 0x55), good.subarray(good.length - 12)]);
  const r = await postImage(bad);
  assert.equal(r.statusCode, 400);
  const b = (await r.body.json()) as { error: { code: string; message: string } };
  assert.equal(b.error.code, 'bad_image');
  assert.match(b.error.message, /cannot be decoded/);
  const ok = await postImage(good);
  assert.equal(ok.statusCode, 200);
  await ok.body.dump();
});

/** The longest the main thread (the server's, in this process) went without running a 1 ms timer. */
function loopStalls(): { stop: () => number } {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  return { stop: () => (clearInterval(t), worst) };
}

test('a refusal under a saturated pool never calls the decoder and comes back while a slow decode runs', { timeout: 120_000 }, async () => {
  // a 3000×3000 image: hundreds of ms of pixel work on the decode worker
  const slow = postImage(png(3000, 3000), { 'x-deadline-ms': '600000' });
  await until('the slow image reaches the decoder', () => pool.pending > 0);
  const stalls = loopStalls();
  const time = server.engine().scheduler.rungs[0]!.time;
  for (let i = 0; i < 300; i++) time.add(10_000); // the pool now looks saturated: 10 s a run
  try {
    const calls = pool.calls;
    const t0 = performance.now();
    const r = await postImage(png(16, 16), { 'x-deadline-ms': '500' });
    const ms = performance.now() - t0;
    // answered while the other image is still being decoded: the main thread was free to refuse it
    assert.ok(pool.pending > 0, `the refusal came back only after the slow decode had finished (${ms.toFixed(1)} ms)`);
    assert.equal(r.statusCode, 503);
    assert.ok(Number(r.headers['retry-after']) >= 1);
    assert.equal(((await r.body.json()) as { error: { code: string } }).error.code, 'shed');
    assert.equal(pool.calls, calls, 'the refused image was never decoded');
  } finally {
    for (let i = 0; i < 300; i++) time.add(0.05);
  }
  const s = await slow;
  const worst = stalls.stop();
  const text = await s.body.text();
  assert.equal(s.statusCode, 200, text);
  const decodeMs = (JSON.parse(text) as { timing: { decode_ms: number } }).timing.decode_ms;
  // the pixels were worked on elsewhere: the main thread never stopped for a sizeable part of the decode
  assert.ok(worst < decodeMs / 2, `the main thread stalled ${worst.toFixed(1)} ms during a ${decodeMs.toFixed(1)} ms decode`);
});
