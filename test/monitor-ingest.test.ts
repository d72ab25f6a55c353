// `edgefit monitor ingest` end to end on a fresh store in a temp folder: JSONL and CSV, bad lines
// refused (nothing stored) or skipped (listed by line), and reruns that add nothing twice.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../src/cli/test-cli.js';
import { queryRows, withDb } from '../src/monitor/db.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-monitor-ingest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function count(db: string): Promise<number> {
  return withDb(db, async (d) => Number((await queryRows(d.conn, 'SELECT count(*) AS n FROM events'))[0]!.n));
}

const good = [
  '{"ts":"2026-03-01T14:02:00Z","line":"L1","machine":"M1","batch":"B1","defect":true,"score":0.9}',
  '{"ts":1772373720000,"machine":"M2","defect":0,"score":0.8,"embedding":[0.5,-1]}',
];

test('bad lines are each named by line number, and with refuse nothing of the file is stored', async () => {
  const file = join(dir, 'bad.jsonl');
  const lines = [...good, '{"machine":"M1"}', '{"ts":1772373720000,"score":"high"}', '{"ts":1772373720000,"machine":["press"]}'];
  writeFileSync(file, Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])]));
  const db = join(dir, 'refuse.duckdb');
  const r = await runCli(['monitor', 'ingest', file, '--db', db]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /4 bad lines; nothing was ingested/);
  assert.match(r.stderr, /line 3: missing 'ts'/);
  assert.match(r.stderr, /line 4: field 'score' must be a number/);
  assert.match(r.stderr, /line 5: field 'machine' must be a string/);
  assert.match(r.stderr, /line 6: invalid UTF-8/);
  assert.doesNotMatch(r.stderr, /internal error/);
  assert.equal(await count(db), 0);

  const s = await runCli(['monitor', 'ingest', file, '--db', db, '--on-bad-line', 'skip', '--json']);
  assert.equal(s.code, 0, s.stderr);
  const out = JSON.parse(s.stdout);
  assert.equal(out.inserted, 2);
  assert.deepEqual(
    out.badLines.map((b: { line: number }) => b.line),
    [3, 4, 5, 6],
  );
  assert.equal(await count(db), 2);
});

test('a rerun of the same file adds nothing; ids given in the file are kept', async () => {
  const file = join(dir, 'good.jsonl');
  writeFileSync(file, [...good, '{"id":"serve-1","ts":1772373720000}', '{"id":"serve-1","ts":1772373720001}'].join('\n'));
  const db = join(dir, 'rerun.duckdb');
  const a = JSON.parse((await runCli(['monitor', 'ingest', file, '--db', db, '--json'])).stdout);
  assert.equal(a.inserted, 3);
  assert.equal(a.duplicates, 1);
  const b = JSON.parse((await runCli(['monitor', 'ingest', file, '--db', db, '--json'])).stdout);
  assert.equal(b.inserted, 0);
  assert.equal(b.duplicates, 4);
  assert.equal(await count(db), 3);
  const rows = await withDb(db, (d) => queryRows(d.conn, "SELECT ts FROM events WHERE id = 'serve-1'"));
  assert.deepEqual(rows, [{ ts: 1772373720000 }]);
});

test('CSV with a header; empty cells are absent fields; a short row is named', async () => {
  const file = join(dir, 'ev.csv');
  writeFileSync(file, 'ts,machine,batch,defect,score,part_id\r\n2026-03-01T14:02:00Z,M1,"B,1",1,0.7,P1\r\n1772373720000,M2,,false,,P2\r\n1772373720000,M3\r\n');
  const db = join(dir, 'csv.duckdb');
  const r = await runCli(['monitor', 'ingest', file, '--db', db, '--on-bad-line', 'skip', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.inserted, 2);
  assert.deepEqual(out.badLines, [{ line: 4, reason: '2 cells, but the header has 6' }]);
  const rows = await withDb(db, (d) => queryRows(d.conn, 'SELECT machine, batch, defect, score, part_id FROM events ORDER BY machine'));
  assert.deepEqual(rows, [
    { machine: 'M1', batch: 'B,1', defect: true, score: 0.7, part_id: 'P1' },
    { machine: 'M2', batch: null, defect: false, score: null, part_id: 'P2' },
  ]);
});
