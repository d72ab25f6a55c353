// Image answers decoded on the inference worker: a run asked to decode comes back with the decoded
// results only (no output tensors cross to the main thread), equal to what the main thread's decoder
// makes of the full outputs; per request in a batch; and a respawned worker decodes too. Without a
// decoder, or without being asked, the full outputs come back as before.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { WorkerPool } from '../src/serve/worker-pool.js';
import { splitOutputs } from '../src/serve/batch.js';
import { makeDecoder } from '../src/serve/decode-result.js';
import { Scheduler, type Outcome } from '../src/serve/scheduler.js';
import { ServiceTime } from '../src/serve/service-time.js';
import type { WireTensors } from '../src/serve/wire.js';
import { until, tinyLadder, TINY_SPEC } from './serve-fixtures.js';

const rowsOf = (n: number, seed: number): WireTensors => ({
  x: { type: 'float32', dims: [n, 64], data: Float32Array.from({ length: n * 64 }, (_, i) => Math.sin(i * 0.37 + seed)) },
});

test('a run asked to decode answers with the decoded results only, equal to decoding the full outputs here', { timeout: 60_000 }, async () => {
  const m = tinyLadder();
  const pool = await WorkerPool.start({ workers: 1, models: [{ id: 'small', path: m.small }], session: {} });
  try {
    const decode = makeDecoder(TINY_SPEC.output);
    // no decoder sent yet: asking to decode still gives the full outputs
    const before = await pool.run(0, 'small', rowsOf(1, 1), [1]);
    assert.equal(before.decoded, undefined);
    assert.equal(Object.keys(before.outputs).length, 1);

    pool.setDecoder(TINY_SPEC.output);
    const full = await pool.run(0, 'small', rowsOf(1, 1));
    assert.equal(full.decoded, undefined, 'not asked to decode');
    const one = await pool.run(0, 'small', rowsOf(1, 1), [1]);
    assert.deepEqual(one.outputs, {}, 'no tensors cross back');
    assert.deepEqual(one.decoded, [decode(full.outputs)]);

    // a batch of three requests (1, 2 and 1 rows... here 1 row each): one answer per request, each its own rows
    const batch = await pool.run(0, 'small', rowsOf(3, 2));
    const parts = splitOutputs(batch.outputs, [1, 1, 1]);
    const labels = new Set(parts.map((p) => (decode(p) as { probabilities: Record<string, number> }).probabilities.ok));
    assert.equal(labels.size, 3, 'the three rows differ, so a mix-up would show');
    const each = await pool.run(0, 'small', rowsOf(3, 2), [1, 1, 1]);
    assert.deepEqual(each.decoded, parts.map(decode));

    // a worker that replaces a crashed one gets the decoder too
    let up = false;
    pool.onSlotUp(() => (up = true));
    await pool.terminateWorker(0);
    await until('the slot is back', () => up);
    const after = await pool.run(0, 'small', rowsOf(1, 1), [1]);
    assert.deepEqual(after.decoded, [decode(full.outputs)]);

    // a run hands its input buffers over: the same inputs again are refused at once, not left hanging
    const feeds = rowsOf(1, 3);
    await pool.run(0, 'small', feeds);
    await assert.rejects(pool.run(0, 'small', feeds), /input 'x' has no data: its buffer was handed to a worker/);
  } finally {
    await pool.close();
    rmSync(m.dir, { recursive: true, force: true });
  }
});

test('the scheduler asks a run to decode for decoded requests only: a batch when every request in it wants decoding, each its own answer', async () => {
  const asked: (number[] | undefined)[] = [];
  // the first run of each part holds the worker until released, while the others queue
  let gate: Promise<void> | undefined;
  let release: () => void = () => {};
  const hold = () => (gate = new Promise<void>((r) => (release = r)));
  const exec = {
    slots: 1,
    run: async (_slot: number, _model: string, feeds: WireTensors, decodeRows?: number[]) => {
      const g = gate;
      gate = undefined;
      if (g) await g;
      asked.push(decodeRows);
      const n = feeds.x!.dims[0]!;
      return decodeRows
        ? { outputs: {}, computeMs: 1, decoded: decodeRows.map((_, i) => ({ kind: 'text' as const, text: `row${i}`, confidence: 1 })) }
        : { outputs: { y: { type: 'float32', dims: [n, 1], data: new Float32Array(n) } }, computeMs: 1 };
    },
  };
  const rung = () => ({ id: 'm', time: new ServiceTime([1, 1, 1]), batch: new Map([[2, new ServiceTime([1.2, 1.2, 1.2])]]) });
  const texts = (outs: Outcome[]) =>
    outs.map((o) => (o.kind === 'served' ? (o.decoded?.kind === 'text' ? o.decoded.text : o.outputs.y ? 'tensor' : '?') : o.kind));
  const deadline = () => performance.now() + 60_000;

  const s = new Scheduler(exec, { rungs: [rung()], maxBatch: 2 });
  hold();
  const first = s.submit({ feeds: rowsOf(1, 0), deadline: deadline(), decode: true });
  const pair = [s.submit({ feeds: rowsOf(1, 1), deadline: deadline(), decode: true }), s.submit({ feeds: rowsOf(1, 2), deadline: deadline(), decode: true })];
  release();
  assert.deepEqual(texts([await first, ...(await Promise.all(pair))]), ['row0', 'row0', 'row1']);
  assert.deepEqual(asked.splice(0), [[1], [1, 1]]);

  // one request of the batch wants tensors: nothing is decoded on the worker, each gets its rows
  hold();
  const lead = s.submit({ feeds: rowsOf(1, 0), deadline: deadline() });
  const mixed = [s.submit({ feeds: rowsOf(1, 1), deadline: deadline(), decode: true }), s.submit({ feeds: rowsOf(1, 2), deadline: deadline() })];
  release();
  assert.deepEqual(texts([await lead, ...(await Promise.all(mixed))]), ['tensor', 'tensor', 'tensor']);
  assert.deepEqual(asked.splice(0), [undefined, undefined]);
});

test('a warm-up that is not remembered (the batch-size measurement) runs on the inputs it was given', { timeout: 60_000 }, async () => {
  const m = tinyLadder();
  const pool = await WorkerPool.start({
    workers: 1,
    models: [
      { id: 'big', path: m.big },
      { id: 'small', path: m.small },
    ],
    session: {},
  });
  try {
    const posted: unknown[] = [];
    const worker = (pool as unknown as { workers: { postMessage: (msg: unknown) => void }[] }).workers[0]!;
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (msg: unknown) => {
      if ((msg as { type?: string }).type === 'warmup') posted.push(structuredClone(msg));
      post(msg);
    };
    const single = { big: { shapes: { x: [1, 64] }, batch: 1 }, small: { shapes: { x: [1, 64] }, batch: 1 } };
    const batch4 = { small: { shapes: { x: [4, 64] }, batch: 4 } };
    assert.deepEqual(Object.keys(await pool.warmUp(2, single)).sort(), ['big', 'small']);
    // only the model still measured runs (the other was once warmed on inputs it was not given)
    const t = await pool.warmUp(2, batch4, false);
    assert.deepEqual(Object.keys(t), ['small']);
    assert.equal(t.small?.length, 2);
    // it measured batches of four (it ran the single-request inputs again before, and called that a batch)
    assert.deepEqual(
      posted.map((p) => (p as { feeds: unknown }).feeds),
      [single, batch4],
    );
    assert.deepEqual(pool.warmFeeds, single, 'a respawned worker still warms up on the single-request inputs');
  } finally {
    await pool.close();
    rmSync(m.dir, { recursive: true, force: true });
  }
});
