import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, predictStart, retryAfterSeconds, type AdmissionState } from './admission.js';

const rungs = [
  { id: 'fp32', budgetMs: 20 },
  { id: 'int8', budgetMs: 8 },
];
const idle = (workers: number, now = 100): AdmissionState => ({ now, slotsFreeAt: new Array(workers).fill(0), queuedMs: [], maxQueue: 16 });

test('predictStart deals the queue ahead to the worker that frees first', () => {
  assert.equal(predictStart({ now: 0, slotsFreeAt: [0], queuedMs: [] }), 0);
  assert.equal(predictStart({ now: 0, slotsFreeAt: [5], queuedMs: [10, 10] }), 25);
  // two workers: free at 5 and 12; queued 10 → w0 busy to 15; queued 10 → w1 busy to 22; new starts at 15
  assert.equal(predictStart({ now: 0, slotsFreeAt: [5, 12], queuedMs: [10, 10] }), 15);
  // a worker expected free in the past is free now
  assert.equal(predictStart({ now: 50, slotsFreeAt: [10], queuedMs: [] }), 50);
  assert.equal(predictStart({ now: 0, slotsFreeAt: [], queuedMs: [] }), Infinity);
});

test('an idle server admits on the most accurate model when it makes the deadline, exactly at the boundary too', () => {
  const s = idle(1);
  assert.deepEqual(admit(s, rungs, 120), { kind: 'admit', rung: 0, degraded: false, predictedStart: 100, predictedDone: 120 });
  // 1 µs short of the accurate model's budget → degrade to the faster one
  const d = admit(s, rungs, 119.999);
  assert.equal(d.kind, 'admit');
  assert.equal(d.kind === 'admit' && d.rung, 1);
  assert.equal(d.kind === 'admit' && d.degraded, true);
});

test('degrades before shedding, and sheds exactly the requests that no model can finish in time', () => {
  const s: AdmissionState = { now: 100, slotsFreeAt: [110], queuedMs: [10, 10], maxQueue: 16 };
  // start at 130: fp32 done 150, int8 done 138
  const at = (deadline: number) => admit(s, rungs, deadline);
  assert.deepEqual(at(150), { kind: 'admit', rung: 0, degraded: false, predictedStart: 130, predictedDone: 150 });
  assert.equal((at(149) as { rung: number }).rung, 1);
  assert.equal((at(138) as { rung: number }).rung, 1);
  const shed = at(137.9);
  assert.equal(shed.kind, 'shed');
  assert.equal(shed.kind === 'shed' && shed.reason, 'deadline');
  assert.equal(shed.kind === 'shed' && shed.retryAfterMs, 30);
});

test('sweep: a request is refused if and only if its predicted completion on the fastest model is late', () => {
  // fake service times: every deadline from 0 to 80 ms after arrival, queues of 0..5, 1..3 workers
  for (let workers = 1; workers <= 3; workers++)
    for (let q = 0; q <= 5; q++)
      for (let dl = 0; dl <= 80; dl += 0.5) {
        const s: AdmissionState = { now: 0, slotsFreeAt: Array.from({ length: workers }, (_, i) => i * 3), queuedMs: new Array(q).fill(7), maxQueue: 16 };
        const start = predictStart(s);
        const d = admit(s, rungs, dl);
        if (start + 8 <= dl) {
          assert.equal(d.kind, 'admit', `workers ${workers}, queue ${q}, deadline ${dl}`);
          if (d.kind === 'admit') assert.equal(d.rung, start + 20 <= dl ? 0 : 1);
        } else assert.equal(d.kind, 'shed', `workers ${workers}, queue ${q}, deadline ${dl}`);
      }
});

test('a full queue sheds whatever the deadline', () => {
  const s: AdmissionState = { now: 0, slotsFreeAt: [0], queuedMs: [1, 1], maxQueue: 2 };
  const d = admit(s, rungs, 1e9);
  assert.equal(d.kind === 'shed' && d.reason, 'queue-full');
  assert.equal(admit({ ...s, maxQueue: 3 }, rungs, 1e9).kind, 'admit');
});

test('from skips the more accurate rungs (a cascade starts on the fast model); an unmeasured model never admits', () => {
  const d = admit(idle(1), rungs, 1000, 1);
  assert.equal(d.kind === 'admit' && d.rung, 1);
  assert.equal(d.kind === 'admit' && d.degraded, false);
  assert.equal(admit(idle(1), [{ id: 'x', budgetMs: Infinity }], 1e12).kind, 'shed');
});

test('Retry-After is whole seconds, at least 1', () => {
  assert.equal(retryAfterSeconds(0), 1);
  assert.equal(retryAfterSeconds(1000), 1);
  assert.equal(retryAfterSeconds(1001), 2);
});

test('the slip margin moves the predicted finish; a full queue asks to retry after the backlog ahead', () => {
  const s: AdmissionState = { now: 100, slotsFreeAt: [100], queuedMs: [], maxQueue: 16 };
  // fp32 finishes at 120, on time for a deadline at 125; 10 ms of slip makes it 130: int8 instead
  assert.deepEqual(admit(s, rungs, 125), { kind: 'admit', rung: 0, degraded: false, predictedStart: 100, predictedDone: 120 });
  assert.deepEqual(admit({ ...s, slipMs: 10 }, rungs, 125), { kind: 'admit', rung: 1, degraded: true, predictedStart: 100, predictedDone: 118 });
  // and 20 ms of slip leaves neither in time (int8 at 128)
  assert.equal(admit({ ...s, slipMs: 20 }, rungs, 125).kind, 'shed');
  // queue full: two 10 ms requests ahead on a worker free at 130 start the new one at 150, 50 ms from now
  const full = admit({ now: 100, slotsFreeAt: [130], queuedMs: [10, 10], maxQueue: 2 }, rungs, 10_000);
  assert.deepEqual(full, { kind: 'shed', reason: 'queue-full', predictedStart: 150, retryAfterMs: 50 });
});
