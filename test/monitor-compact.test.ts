// Retention: raw events older than the retention become hourly summaries that keep every count, the
// raw rows go, and a late event for an hour already summarised is not stored again as raw.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { simulateLine } from '../src/data/generators/line.js';
import { appendEvents } from '../src/monitor/append-events.js';
import { compactStore } from '../src/monitor/compact.js';
import { queryRows, withDb } from '../src/monitor/db.js';
import { EventStore } from '../src/monitor/event-store.js';
import { toInspectionEvent } from './monitor-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-monitor-compact-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('compaction keeps the counts in hourly rows, deletes old raw events, and refuses late ones', async () => {
  const { events } = simulateLine({ seed: 5, hours: 12, intervalS: 60 });
  const db = join(dir, 'c.duckdb');
  await withDb(db, (d) => appendEvents(d.conn, events.map(toInspectionEvent)));
  const newest = Math.max(...events.map((e) => e.ts));
  const r = await compactStore(db, { retainMs: 4 * 3_600_000 });
  const cutoff = Math.floor((newest - 4 * 3_600_000) / 3_600_000) * 3_600_000;
  assert.equal(r.cutoff, cutoff);
  const old = events.filter((e) => e.ts < cutoff);
  assert.equal(r.summarised, old.length);
  assert.equal(r.remaining, events.length - old.length);
  const sums = await withDb(db, (d) =>
    queryRows(d.conn, 'SELECT sum(n) AS n, sum(defects) AS k, sum(truth_n) AS t, min(hour) AS h0, count(DISTINCT machine) AS m FROM hourly'),
  );
  assert.deepEqual(sums[0], {
    n: old.length,
    k: old.filter((e) => e.defect).length,
    t: old.filter((e) => e.truth).length,
    h0: Math.floor(events[0]!.ts / 3_600_000) * 3_600_000,
    m: 8,
  });
  // Per (hour, machine) too: the rows are the group sums, not just the grand total.
  const m1 = await withDb(db, (d) => queryRows(d.conn, `SELECT sum(n) AS n FROM hourly WHERE machine = 'M1' AND hour = ${cutoff - 3_600_000}`));
  assert.equal(m1[0]!.n, old.filter((e) => e.machine === 'M1' && e.ts >= cutoff - 3_600_000).length);

  // A late event for a summarised hour is counted as too old, not stored; a new one is stored.
  const store = new EventStore(db);
  const res = await store.appendCounted([
    { id: 'late', ts: cutoff - 1 },
    { id: 'new', ts: newest + 1 },
  ]);
  await store.close();
  assert.deepEqual(res, { inserted: 1, duplicates: 0, tooOld: 1 });
  // Compacting again moves nothing twice.
  const again = await compactStore(db, { retainMs: 4 * 3_600_000 });
  assert.equal(again.summarised, 0);
  const total = await withDb(db, (d) => queryRows(d.conn, 'SELECT (SELECT sum(n) FROM hourly) + (SELECT count(*) FROM events) AS n'));
  assert.equal(total[0]!.n, events.length + 1);
});
