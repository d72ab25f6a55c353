// A worker killed on purpose: its slot takes no work while the replacement loads and warms up (the
// warm-up runs are not counted as service times), admission counts the slot as busy until it is back,
// and a request sent meanwhile is served by the warmed-up worker instead of failing on a cold one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Engine } from '../src/serve/engine.js';
import type { SlotUp } from '../src/serve/worker-pool.js';
import { until, tinyLadder } from './serve-fixtures.js';

const feeds = () => ({ x: { type: 'float32', dims: [1, 64], data: new Float32Array(64).fill(0.5) } });

test('a respawned worker warms up before it takes traffic; its warm-up runs are not service times', { timeout: 60_000 }, async () => {
  const m = tinyLadder();
  const engine = await Engine.start({ ladder: [{ id: 'small', path: m.small }], workers: 1, warmup: 3, respawnWarmup: 4 });
  try {
    const { pool, scheduler } = engine;
    const time = scheduler.rungs[0]!.time;
    const ups: SlotUp[] = [];
    pool.onSlotUp((u) => ups.push(u));
    assert.equal((await scheduler.submit({ feeds: feeds(), deadline: performance.now() + 30_000 })).kind, 'served');
    const counted = time.count;

    await pool.terminateWorker(0);
    await until('the slot is marked down', () => pool.downUntil(0) !== undefined);
    // the only worker is restarting: a request that cannot wait for it is refused, not queued to fail
    const now = performance.now();
    assert.ok(pool.downUntil(0)! > now);
    assert.equal(scheduler.decide(now + 1).kind, 'shed');
    // one that can wait is served by the new worker once it is warm
    const out = await scheduler.submit({ feeds: feeds(), deadline: performance.now() + 30_000 });
    assert.equal(out.kind, 'served', JSON.stringify(out));
    assert.equal(ups.length, 1, 'the slot came back once');
    assert.equal(ups[0]!.slot, 0);
    assert.equal(ups[0]!.warmupMs.small?.length, 4, 'four warm-up runs before its first request');
    assert.equal(pool.downUntil(0), undefined);
    assert.equal(time.count, counted + 1, 'only the served request was added to the service times');
  } finally {
    await engine.close();
    rmSync(m.dir, { recursive: true, force: true });
  }
});

test('with two workers the other one takes the traffic while the first restarts', { timeout: 60_000 }, async () => {
  const m = tinyLadder();
  const engine = await Engine.start({ ladder: [{ id: 'small', path: m.small }], workers: 2, warmup: 2, respawnWarmup: 2 });
  try {
    const { pool, scheduler } = engine;
    await pool.terminateWorker(1);
    await until('the slot is marked down', () => pool.downUntil(1) !== undefined);
    const outs = await Promise.all(Array.from({ length: 6 }, () => scheduler.submit({ feeds: feeds(), deadline: performance.now() + 30_000 })));
    assert.deepEqual(
      outs.map((o) => o.kind),
      new Array(6).fill('served'),
    );
    await until('the restarted slot is back', () => pool.downUntil(1) === undefined);
  } finally {
    await engine.close();
    rmSync(m.dir, { recursive: true, force: true });
  }
});
