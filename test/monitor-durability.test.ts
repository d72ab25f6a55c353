// Crash safety and concurrent writers of the event store, with real processes: an acknowledged event
// survives kill -9; a file ingest killed midway leaves nothing half-stored and a rerun adds no
// duplicate; a serve-like writer and an ingest in two processes both get all their events in.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { queryRows, withDb } from '../src/monitor/db.js';
import { ingestFile } from '../src/monitor/ingest.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-monitor-dur-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const child = join(import.meta.dirname, 'monitor-writer-child.ts');

function start(args: string[]): { p: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  exited.then((c) => c && c !== 0 && console.error(err));
  return { p, out: () => out, exited };
}

async function until(cond: () => boolean, ms = 60_000): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function countLike(db: string, prefix: string): Promise<number> {
  return withDb(db, async (d) => Number((await queryRows(d.conn, `SELECT count(*) AS n FROM events WHERE id LIKE '${prefix}%'`))[0]!.n));
}

test('every event acknowledged before kill -9 is in the store afterwards', async () => {
  const db = join(dir, 'kill.duckdb');
  const c = start(['sink', db, 'k']);
  await until(() => (c.out().match(/ack/g) ?? []).length >= 4);
  c.p.kill('SIGKILL');
  await c.exited;
  const acked = Math.max(...[...c.out().matchAll(/ack (\d+)/g)].map((m) => Number(m[1])));
  const stored = await countLike(db, 'k-');
  assert.ok(acked >= 200);
  assert.ok(stored >= acked, `acknowledged ${acked}, stored ${stored}`);
  assert.ok(stored <= acked + 50, 'at most the one unacknowledged batch more');
});

test('an ingest killed midway stores all or nothing of the file, and a rerun adds no duplicate', async () => {
  const file = join(dir, 'big.jsonl');
  const n = 30_000;
  writeFileSync(
    file,
    Array.from({ length: n }, (_, i) => JSON.stringify({ ts: 1772373720000 + i * 1000, machine: `M${i % 8}`, defect: i % 13 === 0, score: 0.9 })).join('\n') +
      '\n',
  );
  const db = join(dir, 'ingest-kill.duckdb');
  const c = start(['ingest', db, file]);
  await until(() => c.out().includes('start'));
  await new Promise((r) => setTimeout(r, 400));
  c.p.kill('SIGKILL');
  await c.exited;
  const after1 = await withDb(db, async (d) => Number((await queryRows(d.conn, 'SELECT count(*) AS n FROM events'))[0]!.n));
  assert.ok(after1 === 0 || after1 === n, `half-ingested: ${after1} of ${n}`);
  const r = await ingestFile(file, db);
  assert.equal(r.inserted + r.duplicates, n);
  const after2 = await withDb(db, async (d) => Number((await queryRows(d.conn, 'SELECT count(DISTINCT id) AS d, count(*) AS n FROM events'))[0]!.n));
  assert.equal(after2, n);
});

test('a serve-like writer and a file ingest in two processes both land all their events', async () => {
  const file = join(dir, 'conc.jsonl');
  const n = 5_000;
  writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `f-${i}`, ts: 1772373720000 + i })).join('\n') + '\n');
  const db = join(dir, 'conc.duckdb');
  const a = start(['sink', db, 's', '12']);
  const b = start(['ingest', db, file]);
  const [ca, cb] = await Promise.all([a.exited, b.exited]);
  assert.equal(ca, 0);
  assert.equal(cb, 0);
  assert.match(b.out(), new RegExp(`done ${n}`));
  assert.equal(await countLike(db, 's-'), 600);
  assert.equal(await countLike(db, 'f-'), n);
});
