import { test as base } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from './scheduler.js';
import { ServiceTime } from './service-time.js';
import type { Executor, RunResult } from './worker-pool.js';

/** An executor whose runs finish when the test says so. */
function manual(slots = 1) {
  const calls: { slot: number; model: string; finish: (ms: number) => void; fail: (e: Error) => void }[] = [];
  const exec: Executor = {
    slots,
    run: (slot, model) =>
      new Promise<RunResult>((resolve, reject) => calls.push({ slot, model, finish: (ms) => resolve({ outputs: {}, computeMs: ms }), fail: reject })),
  };
  return { exec, calls };
}

// a broken scheduler tends to hang rather than throw: fail fast instead
const test = (name: string, fn: () => Promise<void>) => base(name, { timeout: 5000 }, fn);
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('admits on the accurate model while it can, degrades next, then sheds at once', async () => {
  let now = 0;
  const { exec, calls } = manual(1);
  const s = new Scheduler(exec, {
    rungs: [
      { id: 'big', time: new ServiceTime([10]) },
      { id: 'small', time: new ServiceTime([4]) },
    ],
    now: () => now,
  });
  const a = s.submit({ feeds: {}, deadline: 25 }); // start 0, done 10 on big
  const b = s.submit({ feeds: {}, deadline: 25 }); // start 10, big done 20
  const c = s.submit({ feeds: {}, deadline: 25 }); // start 20: big 30 late, small 24 on time → degraded
  const d = await s.submit({ feeds: {}, deadline: 25 }); // start 24 (20 + small's mean 4): small 28 late → shed
  assert.equal(d.kind, 'shed');
  assert.equal(d.kind === 'shed' && d.reason, 'deadline');
  assert.equal(d.kind === 'shed' && d.retryAfterMs, 24);
  assert.equal(calls.length, 1);
  now = 10;
  calls[0]!.finish(10);
  const ra = await a;
  assert.equal(ra.kind === 'served' && ra.model, 'big');
  await tick();
  now = 20;
  calls[1]!.finish(10);
  assert.equal(((await b) as { model: string }).model, 'big');
  await tick();
  now = 24;
  calls[2]!.finish(4);
  const rc = await c;
  assert.equal(rc.kind === 'served' && rc.model, 'small');
  assert.equal(rc.kind === 'served' && rc.degraded, true);
  assert.equal(rc.kind === 'served' && rc.queueMs, 20);
});

test('a request whose deadline passes while waiting is answered at once and never computed', async () => {
  const { exec, calls } = manual(1);
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time: new ServiceTime([2]) }] });
  const t0 = performance.now();
  const a = s.submit({ feeds: {}, deadline: t0 + 1000 });
  const b = s.submit({ feeds: {}, deadline: t0 + 100 }); // predicted start 2, done 4: admitted
  assert.equal(s.depth, 1);
  // the run ahead never ends until the test says so: b is answered by its deadline timer alone
  const rb = await b;
  assert.equal(rb.kind, 'deadline-missed');
  assert.ok(performance.now() - t0 >= 99, 'not before its deadline');
  assert.equal(s.depth, 0);
  calls[0]!.finish(40);
  await a;
  await tick();
  assert.equal(calls.length, 1, 'the expired request was not computed');
});

test('a request found expired at dispatch is dropped and the slot goes to the next one', async () => {
  let now = 0;
  const { exec, calls } = manual(1);
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time: new ServiceTime([5]) }], now: () => now });
  void s.submit({ feeds: {}, deadline: 1e6 });
  const b = s.submit({ feeds: {}, deadline: 10 });
  const c = s.submit({ feeds: {}, deadline: 1e6 });
  now = 50; // past b's deadline, before its timer had a chance
  calls[0]!.finish(50);
  assert.equal((await b).kind, 'deadline-missed');
  await tick();
  assert.equal(calls.length, 2);
  calls[1]!.finish(5);
  assert.equal((await c).kind, 'served');
});

test('admission off: FIFO on the first model, no degrade, no deadline drops; the queue stays bounded', async () => {
  const { exec, calls } = manual(1);
  const s = new Scheduler(exec, {
    rungs: [
      { id: 'big', time: new ServiceTime([10]) },
      { id: 'small', time: new ServiceTime([1]) },
    ],
    admission: false,
    maxQueue: 2,
  });
  const now = performance.now();
  const jobs = [0, 1, 2].map(() => s.submit({ feeds: {}, deadline: now - 1 }));
  const full = await s.submit({ feeds: {}, deadline: now + 1e6 });
  assert.equal(full.kind === 'shed' && full.reason, 'queue-full');
  for (let i = 0; i < 3; i++) {
    await tick();
    calls[i]!.finish(1);
  }
  for (const j of jobs) {
    const r = await j;
    assert.equal(r.kind === 'served' && r.model, 'big');
  }
});

test('two workers run two requests at once; drain waits for both; the time from dispatch to result feeds the distribution', async () => {
  let now = 0;
  const { exec, calls } = manual(2);
  const time = new ServiceTime([5]);
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time }], now: () => now });
  const a = s.submit({ feeds: {}, deadline: 1e6 });
  const b = s.submit({ feeds: {}, deadline: 1e6 });
  assert.deepEqual(
    calls.map((c) => c.slot),
    [0, 1],
  );
  let drained = false;
  const d = s.drain().then(() => (drained = true));
  now = 7; // the worker computed for 3 ms; messages and a busy main thread took the rest
  calls[0]!.finish(3);
  const ra = await a;
  assert.equal(ra.kind === 'served' && ra.computeMs, 3);
  assert.equal(ra.kind === 'served' && ra.runMs, 7);
  await tick();
  assert.equal(drained, false);
  now = 9;
  calls[1]!.finish(4);
  await b;
  await d;
  assert.equal(time.count, 3);
  assert.equal(time.quantile(1), 9, 'the deadline sees 9 ms, not the 4 ms the worker computed');
});

test('a failed run rejects its request and frees the slot', async () => {
  const { exec, calls } = manual(1);
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time: new ServiceTime([1]) }] });
  const far = performance.now() + 1e6;
  const a = s.submit({ feeds: {}, deadline: far });
  const b = s.submit({ feeds: {}, deadline: far });
  calls[0]!.fail(new Error('bad dims'));
  await assert.rejects(a, /bad dims/);
  await sleep(1);
  calls[1]!.finish(1);
  assert.equal((await b).kind, 'served');
});

test('at dispatch the wait is known: a request moves to the model that still makes its deadline, or is not run', async () => {
  let now = 0;
  const { exec, calls } = manual(1);
  const s = new Scheduler(exec, {
    rungs: [
      { id: 'big', time: new ServiceTime([10]) },
      { id: 'small', time: new ServiceTime([4]) },
    ],
    now: () => now,
  });
  void s.submit({ feeds: {}, deadline: 1e6 });
  const b = s.submit({ feeds: {}, deadline: 30 }); // predicted start 10, big done 20: admitted on big
  const c = s.submit({ feeds: {}, deadline: 33 }); // predicted start 20, big done 30: admitted on big
  now = 21; // the first run took 21 ms, not 10
  calls[0]!.finish(21);
  await tick();
  assert.equal(calls[1]!.model, 'small', 'b: big would end at 31 > 30, small at 25');
  now = 30; // b took 9 ms on small, which now looks that slow: c would end at ~39 on small, past 33
  calls[1]!.finish(9);
  const rb = await b;
  assert.equal(rb.kind === 'served' && rb.degraded, true);
  assert.equal((await c).kind, 'deadline-missed');
  await tick();
  assert.equal(calls.length, 2, 'c was not computed');
});

test('the time an answer needs after its run counts against the deadline', async () => {
  const { exec } = manual(1);
  const afterRun = new ServiceTime([3]);
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time: new ServiceTime([10]) }], now: () => 0, afterRun });
  assert.equal(s.decide(13).kind, 'admit');
  assert.equal(s.decide(12.9).kind, 'shed');
});

test('images still being decoded count as work ahead (at the fastest mean), but never as a full queue', async () => {
  const { exec } = manual(1);
  const s = new Scheduler(exec, {
    rungs: [
      { id: 'big', time: new ServiceTime([10]) },
      { id: 'small', time: new ServiceTime([4]) },
    ],
    maxQueue: 1,
    now: () => 0,
  });
  assert.equal(s.decide(10).kind, 'admit');
  // two ahead at small's 4 ms: start 8; big done 18 (late for 15), small 12 → degraded
  const d = s.decide(15, 0, 1, { ahead: 2, readyInMs: 0 });
  assert.equal(d.kind === 'admit' && d.rung, 1);
  // three ahead: start 12, small done 16 > 15 → refused for the deadline, not for the queue bound
  const e = s.decide(15, 0, 1, { ahead: 3, readyInMs: 0 });
  assert.equal(e.kind === 'shed' && e.reason, 'deadline');
});

test('a slot that is down takes no work and counts as busy until it is expected back; it takes the queue when up', async () => {
  let now = 0;
  let up: ((u: { slot: number; warmupMs: Record<string, number[]> }) => void) | undefined;
  let downUntil: number | undefined = 50;
  const { exec: base, calls } = manual(1);
  const exec = { ...base, run: base.run, downUntil: () => downUntil, onSlotUp: (f: typeof up) => (up = f) };
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time: new ServiceTime([5]) }], now: () => now });
  assert.equal(s.decide(40).kind, 'shed', 'back at 50, done at 55: too late for 40');
  const a = s.submit({ feeds: {}, deadline: 100 });
  await tick();
  assert.equal(calls.length, 0, 'nothing dispatched to a slot that is down');
  now = 20;
  downUntil = undefined;
  up!({ slot: 0, warmupMs: {} });
  assert.equal(calls.length, 1, 'dispatched the moment the slot is back');
  calls[0]!.finish(5);
  assert.equal((await a).kind, 'served');
});

test('micro-batching: queued requests run as one batch and each caller gets its own rows', async () => {
  const runs: { feeds: Record<string, { dims: number[]; data: Float32Array }>; finish: (ms: number) => void }[] = [];
  const exec: Executor = {
    slots: 1,
    run: (_slot, _model, feeds) =>
      new Promise<RunResult>((resolve) => {
        const x = feeds.x as unknown as { dims: number[]; data: Float32Array };
        // y = 10 × x, row by row: a caller given another's rows would see it
        const y = { type: 'float32', dims: [...x.dims], data: x.data.map((v) => v * 10) };
        runs.push({ feeds: feeds as never, finish: (ms) => resolve({ outputs: { y }, computeMs: ms }) });
      }),
  };
  const batch = new Map([
    [2, new ServiceTime([6])],
    [3, new ServiceTime([7])],
  ]);
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time: new ServiceTime([5]), batch }], maxBatch: 4 });
  const t0 = performance.now();
  const feeds = (v: number) => ({ x: { type: 'float32', dims: [1, 2], data: Float32Array.from([v, v + 1]) } });
  const a = s.submit({ feeds: feeds(1), deadline: t0 + 10_000 });
  const rest = [
    s.submit({ feeds: feeds(2), deadline: t0 + 10_000 }),
    s.submit({ feeds: feeds(3), deadline: t0 + 10_000 }),
    s.submit({ feeds: feeds(4), deadline: t0 + 10_000 }),
  ];
  assert.equal(runs.length, 1);
  runs[0]!.finish(5);
  assert.equal((await a).kind, 'served');
  await tick();
  assert.equal(runs.length, 2, 'the three waiting requests ran as one');
  assert.deepEqual(runs[1]!.feeds.x!.dims, [3, 2]);
  runs[1]!.finish(7);
  const got = await Promise.all(rest);
  assert.deepEqual(
    got.map((o) => (o.kind === 'served' ? { batch: o.batch, y: [...(o.outputs.y!.data as Float32Array)], dims: o.outputs.y!.dims } : o)),
    [
      { batch: 3, y: [20, 30], dims: [1, 2] },
      { batch: 3, y: [30, 40], dims: [1, 2] },
      { batch: 3, y: [40, 50], dims: [1, 2] },
    ],
  );
  assert.equal(batch.get(3)!.count, 2, 'the batch time went to the batch-of-3 distribution');
  assert.equal(s.rungs[0]!.time.count, 2, 'not to the single-request one');
});

/**
 * One request queued behind a run that overran: at dispatch its slack (deadline − now) is set to
 * `slack`; the budget is 10 (run) + 2 (after the run) + 1 (margin) = 13 ms. Returns whether it ran and,
 * if it did, when its reply would be written were every time exactly as measured.
 */
async function dispatchWithSlack(slack: number): Promise<{ ran: boolean; replyAt?: number; deadline: number; outcome: string }> {
  let now = 0;
  const { exec, calls } = manual(1);
  // 256 start-up runs of 10 ms: one overrun is one among them and does not move the p99
  const time = new ServiceTime(new Array(256).fill(10));
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time }], now: () => now, afterRun: new ServiceTime([2]), margin: () => 1 });
  void s.submit({ feeds: {}, deadline: 1e6 });
  const deadline = 25 + slack;
  const b = s.submit({ feeds: {}, deadline }); // predicted start 10, done 23: admitted
  now = 25; // the run ahead took 25 ms, not 10
  calls[0]!.finish(25);
  await tick();
  if (calls.length === 1) return { ran: false, deadline, outcome: (await b).kind };
  now += 10; // its run takes exactly the measured 10 ms
  calls[1]!.finish(10);
  const r = await b;
  return { ran: true, replyAt: now + 2 + 1, deadline, outcome: r.kind };
}

test('dispatch: a request whose slack is below its budget (run + after-run quantiles + margin) is not run; one with enough is', async () => {
  for (const slack of [0, 5, 12.9, 12.999]) {
    const r = await dispatchWithSlack(slack);
    assert.equal(r.ran, false, `slack ${slack} < 13: not run`);
    assert.equal(r.outcome, 'deadline-missed');
  }
  for (const slack of [13, 13.001, 40]) {
    const r = await dispatchWithSlack(slack);
    assert.equal(r.ran, true, `slack ${slack} ≥ 13: run`);
    assert.equal(r.outcome, 'served');
  }
});

test('dispatch: with times as measured, the rule refuses exactly the requests whose reply would be late', async () => {
  for (let slack = 0; slack <= 20; slack += 0.5) {
    const r = await dispatchWithSlack(slack);
    // the reply of a request that is run lands at dispatch (25) + 10 + 2 + 1 = 38
    const wouldBeLate = 38 > r.deadline;
    assert.equal(r.ran, !wouldBeLate, `slack ${slack}, deadline ${r.deadline}`);
    if (r.ran) assert.ok(r.replyAt! <= r.deadline);
  }
});

test('a decision on the headers adds how much later starts have turned out once the input was ready (the slip)', async () => {
  let now = 0;
  const { exec, calls } = manual(1);
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time: new ServiceTime([10]) }], now: () => now });
  const early = { ahead: 0, readyInMs: 0 };
  assert.equal(s.decide(10, 0, 0, early).kind, 'admit', 'no slip measured yet');
  // a request admitted on its headers with a predicted start of 0 reaches the queue when the start is 10
  void s.submit({ feeds: {}, deadline: 1e6 }); // takes the worker, expected to 10
  const late = s.submit({ feeds: {}, deadline: 1e6, earlyStart: 0 });
  assert.equal(s.slip.quantile(1), 10);
  const d = s.decide(now + 35, 0, 0, early); // start 20 (10 + one queued at 10) + slip 10 + run 10 = 40 > 35
  assert.equal(d.kind, 'shed');
  assert.equal(d.predictedStart, 20, 'the slip is a margin, not part of the predicted start');
  assert.equal(s.decide(now + 35, 0, 0).kind, 'admit', 'once the input is ready there is no slip to add: done 30');
  assert.equal(s.decide(now + 40, 0, 0, early).kind, 'admit');
  now = 10;
  calls[0]!.finish(10);
  now = 20;
  await tick();
  calls[1]!.finish(10);
  await late;
});

test("a decision on the headers waits for the image's own decode", async () => {
  const { exec } = manual(1);
  const s = new Scheduler(exec, { rungs: [{ id: 'm', time: new ServiceTime([10]) }], now: () => 0 });
  assert.equal(s.decide(30, 0, 0, { ahead: 0, readyInMs: 20 }).kind, 'admit');
  const d = s.decide(29.9, 0, 0, { ahead: 0, readyInMs: 20 });
  assert.equal(d.kind, 'shed');
  assert.equal(d.predictedStart, 20);
});
