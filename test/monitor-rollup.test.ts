// The pre-aggregates: alerts read from them give what raw events give (appended in pieces, with late
// events and after compaction), and the binned drift statistics are checked against exact PSI and KS
// on a case worked by hand.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { simulateLine } from '../src/data/generators/line.js';
import { analyze, type Analysis } from '../src/monitor/analyze.js';
import { appendEvents } from '../src/monitor/append-events.js';
import { compactStore } from '../src/monitor/compact.js';
import { queryRows, withDb } from '../src/monitor/db.js';
import { EventStore } from '../src/monitor/event-store.js';
import { ksTwoSample } from '../src/monitor/stats/ks.js';
import { psi } from '../src/monitor/stats/psi.js';
import { toInspectionEvent } from './monitor-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-monitor-rollup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Deep equality with numbers equal to 1e-9 (relative): DuckDB sums in parallel, so the order of a sum — and its last bits — varies. */
function close(a: unknown, b: unknown, path = ''): void {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Object.is(a, b) || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))) return;
    assert.fail(`${path}: ${a} != ${b}`);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `${path}: length`);
    for (let i = 0; i < a.length; i++) close(a[i], b[i], `${path}[${i}]`);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${path}: keys`);
    for (const k of Object.keys(a)) close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  assert.equal(a, b, path);
}
const same = (a: Analysis, b: Analysis) => {
  for (const k of ['range', 'alerts', 'drift', 'charts', 'performance', 'attributions'] as const) close(a[k], b[k], k);
};

test('alerts from the pre-aggregates equal alerts from raw events (pieces, late events, compaction)', async () => {
  const { events } = simulateLine({ seed: 6, hours: 24 });
  const all = events.map(toInspectionEvent);
  // Every 40th event is held back and arrives at the end: late for slots already rolled up.
  const late = all.filter((_, i) => i % 40 === 7);
  const onTime = all.filter((_, i) => i % 40 !== 7);
  const db = join(dir, 'pieces.duckdb');
  const store = new EventStore(db);
  for (let i = 0; i < onTime.length; i += 3000) await store.append(onTime.slice(i, i + 3000));
  await store.append(late);
  await store.close();
  const rolled = await withDb(db, (d) =>
    queryRows(
      d.conn,
      "SELECT (SELECT value FROM meta WHERE key = 'rolled_until') AS r, (SELECT sum(n_all) FROM agg_cells) AS n, (SELECT max(ts) FROM events) AS mx",
    ),
  );
  const mx = Number(rolled[0]!.mx);
  assert.equal(Number(rolled[0]!.r), Math.floor(mx / 1_800_000) * 1_800_000 - 1_800_000, 'rolled up to one slot behind the newest event');
  assert.equal(rolled[0]!.n, all.filter((e) => e.ts < Number(rolled[0]!.r)).length, 'late events are in the summaries');

  const fromAgg = await analyze(db);
  const fromRaw = await analyze(db, { aggregates: false });
  assert.ok(fromAgg.alerts.some((a) => a.kind === 'attribution'));
  same(fromAgg, fromRaw);
  // A --since inside a slot and an --until: partial slots at both ends come from raw events.
  const since = all[0]!.ts + 2 * 3_600_000 + 123_456;
  const until = mx - 3 * 3_600_000 - 654_321;
  same(await analyze(db, { since, until }), await analyze(db, { since, until, aggregates: false }));

  // The same events ingested at once give the same alerts.
  const once = join(dir, 'once.duckdb');
  await withDb(once, (d) => appendEvents(d.conn, all));
  same(await analyze(once), fromRaw);

  // Compaction deletes old raw events; the alerts still cover them through the summaries.
  await compactStore(db, { retainMs: 6 * 3_600_000 });
  const left = await withDb(db, (d) => queryRows(d.conn, 'SELECT count(*) AS n FROM events'));
  assert.ok(Number(left[0]!.n) < all.length / 3);
  same(await analyze(db), fromRaw);
});

test('PSI and KS from the pre-aggregates against exact values: U(0.30, 0.70) against U(0.35, 0.75)', async () => {
  const h0 = Date.UTC(2026, 2, 2);
  const N = 2000;
  const ref = Array.from({ length: N }, (_, i) => 0.3 + (0.4 * (i + 0.5)) / N);
  const cur = ref.map((x) => x + 0.05);
  const ev = (b: number, i: number, hour: number) => ({
    id: `${hour}-${i}`,
    ts: h0 + hour * 3_600_000 + Math.floor((i * 3_600_000) / N),
    machine: 'M1',
    defect: false,
    score: 0.9,
    brightness: b,
  });
  const db = join(dir, 'known.duckdb');
  // A last event 3 h on, so that both hours are rolled up.
  await withDb(db, (d) => appendEvents(d.conn, [...ref.map((b, i) => ev(b, i, 0)), ...cur.map((b, i) => ev(b, i, 1)), { id: 'end', ts: h0 + 3 * 3_600_000 }]));
  const o = { bucketMs: 3_600_000, referenceUntil: h0 + 3_600_000 };
  const a = await analyze(db, o);
  const point = a.drift.find((d) => d.machine === 'M1' && d.feature === 'brightness')!.points[0]!;
  const raw = (await analyze(db, { ...o, aggregates: false })).drift.find((d) => d.machine === 'M1' && d.feature === 'brightness')!.points[0]!;
  assert.deepEqual(point, raw, 'pre-aggregates and raw events give the same binned statistics');
  // Exact: the CDFs differ by 0.05 / 0.4 = 0.125 everywhere on [0.35, 0.70].
  const exact = ksTwoSample(ref, cur);
  assert.ok(Math.abs(exact.d - 0.125) < 1e-3, `exact D ${exact.d}`);
  assert.ok(point.stat <= exact.d + 1e-12, `binned D ${point.stat} is a lower bound`);
  assert.ok(exact.d <= point.dMax!, `exact D within the stated bound ${point.dMax}`);
  assert.ok(exact.d - point.stat < 0.01, `binned D ${point.stat}`);
  // The bound adds the largest share of one coarse bin: here the current sample's 0.07 / 0.4 above the
  // reference's last 20-quantile edge (0.68), where a shift piles up.
  assert.ok(Math.abs(point.dMax! - point.stat - 0.175) < 0.005, `bound ${point.dMax} − ${point.stat}`);
  // PSI by hand on the reference deciles (0.34, 0.38, …, 0.66), proportions floored at 1e-4:
  // current shares 0, 0.075, 0.1 × 7, 0.225 against 0.1 each.
  const hand = (1e-4 - 0.1) * Math.log(1e-4 / 0.1) + (0.075 - 0.1) * Math.log(0.75) + (0.225 - 0.1) * Math.log(2.25);
  assert.ok(Math.abs(psi(ref, cur) - hand) < 0.01, `exact PSI ${psi(ref, cur)} against ${hand}`);
  assert.ok(Math.abs(point.psi - hand) < 0.03, `PSI from the fine bins ${point.psi} against ${hand}`);
});
