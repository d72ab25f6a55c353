// serve → monitor: requests that carry the part headers land in the DuckDB event store, where the
// monitoring queries read them back after the server has closed (and so flushed) its store.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startServer } from '../src/serve/server.js';
import { resolveLadder } from '../src/serve/ladder.js';
import { EventStore } from '../src/monitor/event-store.js';
import { queryRows, withDb } from '../src/monitor/db.js';
import { png, tinyLadder, TINY_SPEC } from './serve-fixtures.js';

test('serve records an inspection per request with part headers into the DuckDB store', async () => {
  const models = tinyLadder();
  const dir = mkdtempSync(join(tmpdir(), 'ef-serve-db-'));
  const db = join(dir, 'line.duckdb');
  const server = await startServer({ ladder: resolveLadder([models.big]), port: 0, warmup: 1, spec: TINY_SPEC, eventSink: new EventStore(db) });
  try {
    const labels: string[] = [];
    for (const [machine, part] of [
      ['M1', 'P1'],
      ['M2', 'P2'],
      ['M2', 'P3'],
    ] as const) {
      const r = await request(`${server.url}/v1/infer`, {
        method: 'POST',
        body: png(16, 16, 120),
        headers: { 'content-type': 'image/png', 'x-line': 'L1', 'x-machine': machine, 'x-batch': 'B9', 'x-part-id': part },
      });
      assert.equal(r.statusCode, 200);
      labels.push(((await r.body.json()) as { result: { label: string } }).result.label);
    }
    // no part headers: answered, not recorded
    await (await request(`${server.url}/v1/infer`, { method: 'POST', body: png(16, 16), headers: { 'content-type': 'image/png' } })).body.dump();
  } finally {
    await server.close();
  }
  try {
    const rows = await withDb(db, (d) => queryRows(d.conn, 'SELECT machine, batch, part_id, prediction, brightness FROM events ORDER BY part_id'));
    assert.deepEqual(
      rows.map((r) => [r.machine, r.batch, r.part_id]),
      [
        ['M1', 'B9', 'P1'],
        ['M2', 'B9', 'P2'],
        ['M2', 'B9', 'P3'],
      ],
    );
    for (const r of rows) assert.ok(typeof r.brightness === 'number' && r.brightness > 0, 'image statistics recorded');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(models.dir, { recursive: true, force: true });
  }
});
