// The server on loopback with a two-model ladder of tiny classifiers: the API, every kind of bad input
// (each answered with a 4xx JSON error while the worker goes on), slow clients, auth, admission
// outcomes, events, reload under load, and /metrics as Prometheus text.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'undici';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { resolveLadder } from '../src/serve/ladder.js';
import { DEFAULT_WORKER_NICE } from '../src/serve/nice.js';
import type { EventSink, InspectionEvent } from '../src/monitor/event.js';
import { parsePrometheus, png, pngHeaderOnly, tinyLadder, TINY_SPEC } from './serve-fixtures.js';

const models = tinyLadder();
const events: InspectionEvent[] = [];
const sink: EventSink = { append: async (e) => void events.push(...e), close: async () => {} };
let server: RunningServer;

before(async () => {
  server = await startServer({
    ladder: resolveLadder([models.big, models.small]),
    port: 0,
    warmup: 3,
    spec: TINY_SPEC,
    bodyLimit: 64 * 1024,
    maxPixels: 1_000_000,
    eventSink: sink,
  });
});
after(async () => {
  await server.close();
  rmSync(models.dir, { recursive: true, force: true });
});

const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
  request(`${server.url}/v1/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
const tensorBody = (over: Record<string, unknown> = {}) =>
  JSON.stringify({ inputs: { x: { type: 'float32', dims: [1, 64], data: new Array(64).fill(0.5), ...over } } });

async function json(r: Awaited<ReturnType<typeof request>>) {
  return (await r.body.json()) as Record<string, any>;
}

test('health, readiness and the model list with measured service times', async () => {
  assert.deepEqual(await json(await request(`${server.url}/healthz`)), { status: 'ok' });
  const ready = await request(`${server.url}/readyz`);
  assert.equal(ready.statusCode, 200);
  await ready.body.dump();
  const m = await json(await request(`${server.url}/v1/models`));
  assert.deepEqual(
    m.models.map((x: { id: string }) => x.id),
    ['big', 'small'],
  );
  assert.equal(m.models[0].inputs[0].name, 'x');
  assert.equal(m.models[0].service_ms.count, 3);
  assert.ok(m.models[0].service_ms.p99 > 0);
  assert.ok(m.models[0].budget_ms >= m.models[0].service_ms.p99, 'the budget is at least the run quantile');
  for (const k of ['after_run_ms', 'margin_ms', 'slip_ms']) assert.ok(m.admission[k] >= 0, k);
  assert.equal(m.task.name, 'tiny');
});

test('a JSON tensor in, the outputs and the timing out', async () => {
  const r = await post(tensorBody());
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['x-model'], 'big');
  const b = await json(r);
  assert.equal(b.model, 'big');
  assert.equal(b.degraded, false);
  assert.deepEqual(b.outputs.logits.dims, [1, 3]);
  const sum = b.outputs.logits.data.reduce((a: number, v: number) => a + v, 0);
  assert.ok(Math.abs(sum - 1) < 1e-5, 'softmax outputs');
  for (const k of ['queue_ms', 'compute_ms', 'run_ms', 'slack_ms', 'budget_ms', 'total_ms']) assert.equal(typeof b.timing[k], 'number');
  assert.ok(b.timing.total_ms >= b.timing.compute_ms);
  assert.ok(b.timing.run_ms >= b.timing.compute_ms, 'the run as the main thread saw it includes the compute');
  assert.ok(b.timing.slack_ms >= b.timing.budget_ms, 'it was run because its slack covered its budget');
  // where the server's time went: arrival on this machine's clock, and arrival to the written reply
  const arrival = Number(r.headers['x-server-arrival']);
  assert.ok(Math.abs(arrival - (performance.timeOrigin + performance.now())) < 5000, String(arrival));
  assert.ok(Number(r.headers['x-server-ms']) >= b.timing.total_ms);
});

test('an image in, a label out; the part headers make one inspection event with image statistics', async () => {
  const before = events.length;
  const r = await post(png(16, 16, 200), { 'content-type': 'image/png', 'x-line': 'L1', 'x-machine': 'M7', 'x-part-id': 'P42', 'x-material': 'steel' });
  assert.equal(r.statusCode, 200);
  const b = await json(r);
  assert.ok(['ok', 'scratch', 'dent'].includes(b.result.label));
  assert.ok(b.result.score > 0 && b.result.score <= 1);
  assert.equal(b.result.defect, b.result.label !== 'ok');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(events.length, before + 1);
  const e = events.at(-1)!;
  assert.equal(e.line, 'L1');
  assert.equal(e.machine, 'M7');
  assert.equal(e.partId, 'P42');
  assert.equal(e.material, 'steel');
  assert.equal(e.prediction, b.result.label);
  assert.equal(e.defect, b.result.defect);
  assert.ok(e.brightness! > 0.4 && e.brightness! < 0.8, String(e.brightness));
  assert.ok(e.contrast! > 0 && e.sharpness! > 0);
  // no part headers: no event
  await (await post(png(16, 16), { 'content-type': 'image/png' })).body.dump();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(events.length, before + 1);
});

const BAD: [string, () => Promise<Awaited<ReturnType<typeof request>>>, number, string][] = [
  ['malformed JSON', () => post('{"inputs": {'), 400, 'malformed_json'],
  ['not an object', () => post('[1,2]'), 400, 'bad_input'],
  ['wrong input name', () => post(JSON.stringify({ inputs: { y: { type: 'float32', dims: [1, 64], data: new Array(64).fill(0) } } })), 400, 'bad_input'],
  ['missing input', () => post(JSON.stringify({ inputs: {} })), 400, 'bad_input'],
  ['wrong dims', () => post(tensorBody({ dims: [1, 63], data: new Array(63).fill(0) })), 400, 'bad_input'],
  ['wrong rank', () => post(tensorBody({ dims: [64] })), 400, 'bad_input'],
  ['wrong dtype', () => post(tensorBody({ type: 'int64' })), 400, 'bad_input'],
  ['data shorter than dims', () => post(tensorBody({ data: [1, 2, 3] })), 400, 'bad_input'],
  ['a string in the data', () => post(tensorBody({ data: ['a', ...new Array(63).fill(0)] })), 400, 'bad_input'],
  ['oversized body', () => post(JSON.stringify({ pad: 'x'.repeat(100_000) })), 413, 'body_too_large'],
  ['unsupported content type', () => post('hello', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type'],
  ['not an image', () => post(Buffer.from('GIF89a not really'), { 'content-type': 'image/png' }), 415, 'not_an_image'],
  ['empty image body', () => post(Buffer.alloc(0), { 'content-type': 'image/png' }), 400, 'empty_body'],
  ['truncated PNG', () => post(png(16, 16).subarray(0, 60), { 'content-type': 'image/png' }), 400, 'bad_image'],
  ['huge image (refused from its header)', () => post(pngHeaderOnly(100_000, 100_000), { 'content-type': 'image/png' }), 413, 'image_too_large'],
  ['bad X-Deadline-Ms', () => post(tensorBody(), { 'x-deadline-ms': 'soon' }), 400, 'bad_deadline'],
  ['unknown route', () => request(`${server.url}/v2/nothing`), 404, 'not_found'],
];

for (const [what, send, status, code] of BAD)
  test(`bad input: ${what} → ${status} ${code}, and the server goes on`, async () => {
    const r = await send();
    assert.equal(r.statusCode, status);
    assert.match(String(r.headers['content-type']), /application\/json/);
    const b = await json(r);
    assert.equal(b.error.code, code);
    assert.equal(typeof b.error.message, 'string');
    const ok = await post(tensorBody());
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
  });

function rawRequest(url: string, text: string): Promise<{ response: string; ms: number }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let response = '';
    const s = connect(Number(u.port), u.hostname, () => s.write(text));
    s.on('data', (d) => (response += d.toString()));
    s.on('close', () => resolve({ response, ms: performance.now() - t0 }));
    s.on('error', reject);
    setTimeout(() => s.destroy(new Error('the server kept a stalled connection open for 5 s')), 5000);
  });
}

// a server of its own: timeouts this short would cut off honest requests on a loaded machine
test('slow clients: unfinished headers or body → 408 and closed after the header / request timeout', async () => {
  const s = await startServer({ ladder: resolveLadder([models.small]), port: 0, warmup: 0, headersTimeoutMs: 300, requestTimeoutMs: 600 });
  try {
    const h = await rawRequest(s.url, 'POST /v1/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    assert.match(h.response, /^HTTP\/1\.1 408/);
    assert.ok(h.ms < 3000, `${h.ms} ms`);
    const b = await rawRequest(s.url, 'POST /v1/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"inputs":');
    assert.match(b.response, /^HTTP\/1\.1 408/);
    assert.ok(b.ms < 3000, `${b.ms} ms`);
  } finally {
    await s.close();
  }
});

test('a deadline no model can make is refused at once with 503 and Retry-After', async () => {
  const t0 = performance.now();
  const r = await post(tensorBody(), { 'x-deadline-ms': '0.0001' });
  assert.equal(r.statusCode, 503);
  assert.equal(r.headers['retry-after'], '1');
  assert.equal(r.headers['x-shed-at'], 'headers');
  assert.ok(Number(r.headers['x-server-ms']) >= 0);
  assert.equal((await json(r)).error.code, 'shed');
  assert.ok(performance.now() - t0 < 1000);
  // refused on its headers: a body over the size limit is never read (else this would be a 413)
  const big = await post(JSON.stringify({ pad: 'x'.repeat(100_000) }), { 'x-deadline-ms': '0.0001' });
  assert.equal(big.statusCode, 503);
  await big.body.dump();
});

test('when the accurate model would miss the deadline, the faster one answers (degraded)', async () => {
  const big = server.engine().scheduler.rungs[0]!.time;
  for (let i = 0; i < 300; i++) big.add(2000); // the big model now looks like it takes 2 s
  try {
    const r = await post(tensorBody(), { 'x-deadline-ms': '500' });
    assert.equal(r.statusCode, 200);
    const b = await json(r);
    assert.equal(b.model, 'small');
    assert.equal(b.degraded, true);
  } finally {
    for (let i = 0; i < 300; i++) big.add(0.05);
  }
});

test('reload under load loses no request', async () => {
  const before = (await json(await request(`${server.url}/v1/models`))).generation;
  // JSON and image bodies: an image is still being decoded, holding the old engine, when the swap comes
  const sends = Array.from({ length: 40 }, (_, i) =>
    new Promise((r) => setTimeout(r, i)).then(() =>
      i % 2 ? post(png(64, 64), { 'content-type': 'image/png', 'x-deadline-ms': '20000' }) : post(tensorBody(), { 'x-deadline-ms': '20000' }),
    ),
  );
  const reload = await request(`${server.url}/admin/reload`, { method: 'POST' });
  assert.equal(reload.statusCode, 200);
  assert.equal((await json(reload)).generation, before + 1);
  const got = await Promise.all(
    sends.map(async (p) => {
      const r = await p;
      return { status: r.statusCode, body: await r.body.text() };
    }),
  );
  assert.deepEqual(
    got.map((g) => g.status),
    new Array(40).fill(200),
    got.find((g) => g.status !== 200)?.body,
  );
  assert.equal((await json(await request(`${server.url}/v1/models`))).generation, before + 1);
});

test('the inference and decode threads run at a lower priority than the main thread, which admits and refuses', {
  skip: !existsSync('/proc/self/task'),
}, async () => {
  const nice = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]);
  const main = nice(String(process.pid));
  assert.ok(DEFAULT_WORKER_NICE > 0, 'by default');
  // an offset no other thread of this process has: exactly this server's inference and decode threads take it
  const by = 19 - main >= 3 ? 3 : 1;
  const at = () => readdirSync('/proc/self/task').filter((t) => nice(t) === main + by).length;
  assert.equal(at(), 0);
  const s = await startServer({ ladder: resolveLadder([models.small]), port: 0, warmup: 1, spec: TINY_SPEC, workerNice: by });
  try {
    assert.equal(at(), 2, `one inference and one decode thread at nice ${main} + ${by}`);
  } finally {
    await s.close();
  }
});

test('--worker-nice idle puts exactly the inference and decode threads under SCHED_IDLE, the main thread stays as it was', {
  skip: !existsSync('/proc/self/task') || spawnSync('chrt', ['--version']).status !== 0,
}, async () => {
  const policy = (tid: string) => Number(/^policy\s*:\s*(\d+)/m.exec(readFileSync(`/proc/self/task/${tid}/sched`, 'utf8'))?.[1]);
  const idle = () => readdirSync('/proc/self/task').filter((t) => policy(t) === 5).length;
  const before = idle();
  const s = await startServer({ ladder: resolveLadder([models.small]), port: 0, warmup: 1, spec: TINY_SPEC, workerNice: 'idle' });
  try {
    assert.equal(idle() - before, 2, 'one inference and one decode thread under SCHED_IDLE (policy 5)');
    assert.equal(policy(String(process.pid)), 0, 'the main thread keeps SCHED_OTHER');
    const r = await request(`${s.url}/v1/infer`, { method: 'POST', body: png(8, 8), headers: { 'content-type': 'image/png' } });
    assert.equal(r.statusCode, 200, await r.body.text());
  } finally {
    await s.close();
  }
});

test('/metrics is Prometheus text with per-model histograms, outcomes and the queue depth', async () => {
  const r = await request(`${server.url}/metrics`);
  assert.match(String(r.headers['content-type']), /text\/plain/);
  const { types, samples } = parsePrometheus(await r.body.text());
  assert.equal(types.edgefit_serve_queue_wait_seconds, 'histogram');
  assert.equal(types.edgefit_serve_compute_seconds, 'histogram');
  assert.equal(types.edgefit_serve_requests_total, 'counter');
  assert.equal(types.edgefit_serve_queue_depth, 'gauge');
  const get = (name: string, labels: Record<string, string>) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  assert.ok(get('edgefit_serve_requests_total', { outcome: 'served' })! >= 40);
  assert.ok(get('edgefit_serve_requests_total', { outcome: 'bad_request' })! >= BAD.length - 1);
  assert.ok(get('edgefit_serve_requests_total', { outcome: 'shed' })! >= 1);
  assert.ok(get('edgefit_serve_requests_total', { outcome: 'degraded' })! >= 1);
  assert.ok(get('edgefit_serve_compute_seconds_count', { model: 'big' })! >= 40);
  assert.equal(get('edgefit_serve_compute_seconds_bucket', { model: 'big', le: '+Inf' }), get('edgefit_serve_compute_seconds_count', { model: 'big' }));
  assert.equal(get('edgefit_serve_queue_depth', {}), 0);
  assert.equal(types.edgefit_serve_event_loop_delay_seconds, 'gauge');
  for (const q of ['0.5', '0.99', '1']) assert.ok(get('edgefit_serve_event_loop_delay_seconds', { quantile: q })! >= 0, q);
  assert.throws(() => parsePrometheus('metric{a="1" 3\n'), /unclosed labels/);
  assert.throws(() => parsePrometheus('metric one\n'), /bad value/);
});

test('auth: loopback by default; another host needs a key; without it 401, probes stay open', async () => {
  await assert.rejects(startServer({ ladder: resolveLadder([models.small]), host: '0.0.0.0', port: 0, warmup: 0 }), /needs an API key/);
  const s = await startServer({ ladder: resolveLadder([models.small]), port: 0, warmup: 1, apiKey: 'sekret' });
  try {
    const body = tensorBody();
    const none = await request(`${s.url}/v1/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(none.statusCode, 401);
    assert.equal((await json(none)).error.code, 'unauthorized');
    const wrong = await request(`${s.url}/v1/models`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.statusCode, 401);
    await wrong.body.dump();
    const ok = await request(`${s.url}/v1/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer sekret' } });
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    const key = await request(`${s.url}/metrics`, { headers: { 'x-api-key': 'sekret' } });
    assert.equal(key.statusCode, 200);
    await key.body.dump();
    const probe = await request(`${s.url}/healthz`);
    assert.equal(probe.statusCode, 200);
    await probe.body.dump();
  } finally {
    await s.close();
  }
});

test('cascade: the fast model answers when sure; below the threshold the accurate one is asked, and the answer says so', async () => {
  try {
    server.settings.cascadeThreshold = 0; // every confidence passes: the fast model answers alone
    const a = await json(await post(png(16, 16), { 'content-type': 'image/png' }));
    assert.equal(a.model, 'small');
    assert.deepEqual(a.cascade, { escalated: false });
    server.settings.cascadeThreshold = 1.01; // no confidence passes: always escalated
    const b = await json(await post(png(16, 16), { 'content-type': 'image/png' }));
    assert.equal(b.model, 'big');
    assert.equal(b.cascade.escalated, true);
    assert.equal(b.cascade.first, 'small');
    assert.ok(b.cascade.first_confidence > 0 && b.cascade.first_confidence <= 1);
    assert.ok(b.timing.compute_ms > 0);
    // JSON tensors carry no decodable answer: the cascade does not apply
    const c = await json(await post(tensorBody()));
    assert.equal(c.model, 'big');
    assert.equal(c.cascade, undefined);
  } finally {
    delete server.settings.cascadeThreshold;
  }
});
