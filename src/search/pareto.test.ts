import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { parseConstraints } from './constraints.js';
import { choose, dominates, nearFront, paretoFront } from './pareto.js';
import { latencyFigures } from './stats.js';
import type { CandidateResult } from './types.js';

/** A fake measured candidate: latency samples around `ms`, exact-match `q` over 100 items. */
export function fake(id: string, ms: number, q: number, opts: { size?: number; full?: boolean; status?: 'ok' | 'failed' } = {}): CandidateResult {
  const samples = Array.from({ length: 50 }, (_, i) => ms * (1 + 0.01 * ((i * 7) % 10)));
  const k = Math.round(q * 100);
  const m = {
    stage: opts.full === false ? ('screen' as const) : ('full' as const),
    latency: latencyFigures(samples),
    quality: {
      primary: { name: 'exact', value: q, ci: [q - 0.05, q + 0.05] as [number, number] },
      metrics: {},
      n: 100,
      perItem: Array.from({ length: 100 }, (_, i) => (i < k ? 1 : 0)),
      source: 'task' as const,
    },
    measuredAt: '2026-01-01T00:00:00Z',
    wallMs: 1,
  };
  return {
    id,
    config: { label: id, passes: [], session: { graphOptimizationLevel: 'all', disabledOptimizers: [] } },
    status: opts.status ?? 'ok',
    sizeBytes: opts.size ?? 1e6,
    passRecords: [],
    screen: m,
    full: opts.full === false ? undefined : m,
  };
}

test('dominance and the Pareto front', () => {
  assert.ok(dominates({ id: 'a', latency: 1, quality: 0.9 }, { id: 'b', latency: 2, quality: 0.9 }));
  assert.ok(!dominates({ id: 'a', latency: 1, quality: 0.9 }, { id: 'b', latency: 1, quality: 0.9 }));
  assert.ok(!dominates({ id: 'a', latency: 1, quality: 0.8 }, { id: 'b', latency: 2, quality: 0.9 }));
  const pts = [
    { id: 'fast-bad', latency: 1, quality: 0.5 },
    { id: 'mid', latency: 2, quality: 0.8 },
    { id: 'dominated', latency: 3, quality: 0.7 },
    { id: 'slow-good', latency: 4, quality: 0.9 },
  ];
  assert.deepEqual(paretoFront(pts), ['fast-bad', 'mid', 'slow-good']);
});

test('choice: the fastest candidate that meets every constraint, not the first or the most accurate', () => {
  const base = fake('base', 10, 0.9);
  const rs = [base, fake('int8', 4, 0.895), fake('int4', 3, 0.7), fake('fp16', 9, 0.9), fake('big-fast', 3.5, 0.9, { size: 9e6 })];
  const c = choose(rs, parseConstraints('p99<=8ms,exact>=-1pt,size<=5MB'), base, 'p99');
  assert.equal(c.chosen?.id, 'int8');
  assert.equal(c.runnerUp, undefined); // fp16 misses the budget, int4 the floor, big-fast the size
  assert.deepEqual(
    c.feasible.map((r) => r.id),
    ['int8'],
  );
  const loose = choose(rs, parseConstraints('p99<=20ms,exact>=-1pt'), base, 'p99');
  assert.equal(loose.chosen?.id, 'big-fast');
  assert.equal(loose.runnerUp?.id, 'int8');
  // The objective can be another statistic.
  const byP50 = choose([base, fake('x', 5, 0.9)], parseConstraints('p50<=100ms'), base, 'p50');
  assert.equal(byP50.chosen?.id, 'x');
});

test('choice: screened-only candidates are not chosen when a full measurement is required', () => {
  const base = fake('base', 10, 0.9);
  const c = choose([base, fake('fast', 2, 0.9, { full: false }), fake('ok', 5, 0.9)], parseConstraints('p99<=8ms'), base, 'p99', { requireFull: true });
  assert.equal(c.chosen?.id, 'ok');
});

test('no feasible candidate: the closest ones with what each misses', () => {
  const base = fake('base', 10, 0.9);
  const rs = [base, fake('a', 6, 0.5), fake('b', 5.5, 0.89), fake('c', 20, 0.9), fake('broken', 1, 1, { status: 'failed' })];
  const c = choose(rs, parseConstraints('p99<=5ms,exact>=-2pt'), base, 'p99');
  assert.equal(c.chosen, undefined);
  assert.equal(c.closest[0]!.id, 'b');
  assert.equal(c.closest[0]!.misses.length, 1);
  assert.match(c.closest[0]!.misses[0]!, /^p99<=5ms: .* misses 5\.00 ms/);
  assert.ok(!c.closest.some((x) => x.id === 'broken'));
});

test('choice: a statistical tie on latency goes to the better quality; a real speed difference does not', () => {
  const base = fake('base', 10, 0.9);
  const tie = choose([base, fake('fast-worse', 4, 0.88), fake('same-better', 4.001, 0.9)], parseConstraints('p99<=8ms,exact>=-5pt'), base, 'p99');
  assert.equal(tie.chosen?.id, 'same-better');
  assert.equal(tie.runnerUp?.id, 'fast-worse');
  const real = choose([base, fake('fast-worse', 3, 0.88), fake('slow-better', 4, 0.9)], parseConstraints('p99<=8ms,exact>=-5pt'), base, 'p99');
  assert.equal(real.chosen?.id, 'fast-worse');
});

test('closest: a candidate that met everything at screening but was never fully measured says so, never a blank miss', () => {
  const c = choose([fake('base', 10, 0.9), fake('screened', 2, 0.9, { full: false })], parseConstraints('p99<=5ms'), fake('base', 10, 0.9), 'p99', {
    requireFull: true,
  });
  assert.equal(c.chosen, undefined);
  const s = c.closest.find((x) => x.id === 'screened')!;
  assert.equal(s.misses.length, 1);
  assert.match(s.misses[0]!, /not fully measured before the time limit/);
  assert.ok(c.closest.every((x) => x.misses.every((m) => m.trim().length > 0)));
});

test('near the front: a point whose latency less the margin no other point dominates', () => {
  const pts = [
    { id: 'fast', latency: 5, quality: 0.8 },
    { id: 'slow', latency: 10, quality: 0.9 },
    { id: 'close', latency: 5.5, quality: 0.79 },
    { id: 'far', latency: 9, quality: 0.79 },
  ];
  assert.deepEqual(nearFront(pts, 0), ['fast', 'slow']);
  assert.deepEqual(nearFront(pts, 0.15), ['fast', 'close', 'slow']);
  assert.deepEqual(nearFront(pts, 1), ['fast', 'close', 'far', 'slow']);
});
