// Micro-batching on a real model: batch sizes are timed at start-up and kept only where they beat one
// request at a time; requests that wait together run as one batch, and each caller gets exactly the
// answer it would have got alone.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Engine } from '../src/serve/engine.js';
import { ServiceTime } from '../src/serve/service-time.js';
import { tinyLadder } from './serve-fixtures.js';

const input = (seed: number) => ({ x: { type: 'float32', dims: [1, 1024], data: Float32Array.from({ length: 1024 }, (_, i) => Math.sin(seed * 31 + i)) } });

test('batch sizes are kept only when measured to help; a batch answers each caller with its own rows', { timeout: 120_000 }, async (t) => {
  // 12 MB of fp32 weights: a run is bound by reading them, so a batch costs little more than one request
  const m = tinyLadder({ big: [1024, 1024, 1024, 1024, 10] });
  const engine = await Engine.start({ ladder: [{ id: 'big', path: m.big }], workers: 1, warmup: 5, maxBatch: 4 });
  try {
    const rung = engine.scheduler.rungs[0]!;
    const single = rung.time.mean();
    // Which sizes help is a measurement: on a loaded machine none may. Every size kept must have helped.
    for (const [k, st] of rung.batch ?? []) assert.ok(st.mean() / k < single, `size ${k}: ${st.mean()} ms for ${k} is no better than ${single} ms each`);
    if (!rung.batch?.size) {
      t.diagnostic('no batch size beat single requests in this measurement (machine load?): the split is checked with batch times set by hand');
      rung.batch = new Map([2, 3, 4].map((k) => [k, new ServiceTime([single])]));
    }

    // what each request gets alone
    const alone = [];
    for (let i = 0; i < 4; i++) alone.push(Array.from((await engine.pool.run(0, 'big', input(i))).outputs.logits!.data as Float32Array));
    const deadline = performance.now() + 60_000;
    const outs = await Promise.all([0, 1, 2, 3].map((i) => engine.scheduler.submit({ feeds: input(i), deadline })));
    const served = outs.map((o) => (o.kind === 'served' ? o : assert.fail(JSON.stringify(o))));
    assert.ok(
      served.some((o) => (o.batch ?? 1) > 1),
      'the requests that waited behind the first ran as a batch',
    );
    for (const [i, o] of served.entries()) {
      assert.deepEqual(o.outputs.logits!.dims, [1, 10]);
      const got = Array.from(o.outputs.logits!.data as Float32Array);
      for (const [j, v] of got.entries()) assert.ok(Math.abs(v - alone[i]![j]!) < 1e-4, `request ${i}, logit ${j}: ${v} vs ${alone[i]![j]} alone`);
    }
  } finally {
    await engine.close();
    rmSync(m.dir, { recursive: true, force: true });
  }
});
