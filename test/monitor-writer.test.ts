// EventWriter: serve's background queue. An event acknowledged by a flush survives kill -9 of the
// writer; close() flushes everything queued; a full queue drops and counts, and never makes the caller wait.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { queryRows, withDb } from '../src/monitor/db.js';
import { EventWriter } from '../src/monitor/event-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-monitor-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ts0 = 1772373720000;
const batch = (tag: string, from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `${tag}-${from + i}`, ts: ts0 + (from + i) * 1000, machine: 'M1', score: 0.5 }));
const ids = async (db: string, tag: string) =>
  withDb(db, async (d) => (await queryRows(d.conn, `SELECT id FROM events WHERE id LIKE '${tag}-%'`)).map((r) => Number(String(r.id).split('-')[1])));

test('kill -9 after acknowledged flushes loses none of the acknowledged events', async () => {
  const db = join(dir, 'kill.duckdb');
  const p = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'monitor-writer-child.ts'), 'writer', db, 'w'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  const exited = new Promise((r) => p.on('exit', r));
  const t = Date.now();
  while ((out.match(/ack/g) ?? []).length < 4) {
    assert.ok(Date.now() - t < 90_000, 'the writer acknowledges flushes');
    await new Promise((r) => setTimeout(r, 10));
  }
  p.kill('SIGKILL');
  await exited;
  const acked = Math.max(...[...out.matchAll(/ack (\d+)/g)].map((m) => Number(m[1])));
  const stored = new Set(await ids(db, 'w'));
  assert.ok(acked >= 500);
  // Flushes go in queue order, so the acknowledged events are the first `acked` ones.
  const missing = Array.from({ length: acked }, (_, i) => i).filter((i) => !stored.has(i));
  assert.deepEqual(missing, [], `acknowledged ${acked}, stored ${stored.size}`);
});

test('close() flushes every queued event; appends resolve once committed', async () => {
  const db = join(dir, 'close.duckdb');
  const w = new EventWriter(db, { flushEvents: 10_000, flushMs: 60_000 });
  const acks: Promise<void>[] = [];
  for (let b = 0; b < 25; b++) acks.push(w.append(batch('c', b * 100, 100)));
  assert.equal(w.stats().queued, 2500);
  assert.equal(w.stats().flushed, 0, 'nothing flushed before the size or time trigger');
  await w.close();
  await Promise.all(acks);
  assert.deepEqual({ ...w.stats(), lastError: undefined }, { queued: 0, flushed: 2500, dropped: 0, failed: 0, flushes: 1, lastError: undefined });
  assert.equal((await ids(db, 'c')).length, 2500);
  await assert.rejects(w.append(batch('c', 9999, 1)), /closed/);
});

test('flushes by size and by time in the background', async () => {
  const db = join(dir, 'bg.duckdb');
  const flushed: number[] = [];
  const w = new EventWriter(db, { flushEvents: 300, flushMs: 100, onFlush: (f) => flushed.push(f.events) });
  for (let b = 0; b < 3; b++) w.enqueue(batch('s', b * 100, 100));
  const small = w.append(batch('s', 300, 10));
  await small; // by time: 10 events are fewer than flushEvents
  assert.equal(
    flushed.reduce((a, b) => a + b, 0),
    310,
  );
  assert.ok(flushed[0]! >= 300, 'the first flush was started by size');
  await w.close();
  assert.equal((await ids(db, 's')).length, 310);
});

test('a full queue drops and counts, without making the caller wait', async () => {
  const db = join(dir, 'full.duckdb');
  const overflows: number[] = [];
  const w = new EventWriter(db, { maxQueue: 120, flushEvents: 1000, flushMs: 60_000, onOverflow: (n) => overflows.push(n) });
  const t = performance.now();
  const ok = [w.enqueue(batch('f', 0, 50)), w.enqueue(batch('f', 50, 50))];
  const dropped = w.append(batch('f', 100, 50));
  const ms = performance.now() - t;
  assert.deepEqual(ok, [true, true]);
  await assert.rejects(dropped, /dropped: the event queue is full/);
  assert.ok(ms < 50, `enqueue took ${ms} ms`);
  assert.equal(w.stats().dropped, 50);
  assert.deepEqual(overflows, [50]);
  await w.close();
  assert.equal((await ids(db, 'f')).length, 100);
});
