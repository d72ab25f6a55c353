// Opens the DuckDB file for a short while and closes it again. DuckDB lets one process at a time hold
// a file for writing, so serve and `monitor ingest` take turns: a lock conflict is retried with backoff
// until a deadline (docs/monitor.md, "Concurrent writers"). Within one process, opens of the same file
// are queued, so two stores in one process never hold the file twice.

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { AGG_CELLS_DDL, AGG_CLASS_DDL, AGG_HIST_DDL, AGG_TRUTH_DDL, EVENTS_DDL, META_DDL, SCHEMA_VERSION, SUMMARY_DDL } from './schema.js';

export interface OpenOptions {
  /** How long to keep retrying while another process holds the file (default 30 s). */
  lockTimeoutMs?: number;
  /** Open without creating the file or the tables (alerts, report). */
  readOnly?: boolean;
}

export interface Db {
  path: string;
  conn: DuckDBConnection;
}

const queues = new Map<string, Promise<unknown>>();

function isLockError(e: unknown): boolean {
  return /Could not set lock|Conflicting lock/i.test((e as Error)?.message ?? '');
}

async function openOnce(path: string, readOnly: boolean): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
  const instance = await DuckDBInstance.create(path, readOnly ? { access_mode: 'READ_ONLY' } : {});
  try {
    return { instance, conn: await instance.connect() };
  } catch (e) {
    instance.closeSync();
    throw e;
  }
}

async function openWithRetry(path: string, o: OpenOptions): Promise<{ instance: DuckDBInstance; conn: DuckDBConnection }> {
  const deadline = Date.now() + (o.lockTimeoutMs ?? 30_000);
  let wait = 5;
  for (;;) {
    try {
      return await openOnce(path, !!o.readOnly);
    } catch (e) {
      if (!isLockError(e))
        throw new EdgefitError(
          `cannot open the event store ${path}: ${(e as Error).message}`,
          'E_MONITOR_DB',
          'check that --db names a DuckDB file made by edgefit monitor, in a writable folder',
        );
      if (Date.now() >= deadline)
        throw new EdgefitError(
          `the event store ${path} is held by another process for longer than ${o.lockTimeoutMs ?? 30_000} ms`,
          'E_MONITOR_LOCKED',
          'another writer (serve or an ingest) is busy with it; try again, or raise the lock timeout',
        );
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
      wait = Math.min(wait * 2, 200);
    }
  }
}

async function ensureSchema(conn: DuckDBConnection): Promise<void> {
  await conn.run(EVENTS_DDL);
  await conn.run(SUMMARY_DDL);
  await conn.run(META_DDL);
  for (const ddl of [AGG_CELLS_DDL, AGG_HIST_DDL, AGG_CLASS_DDL, AGG_TRUTH_DDL]) await conn.run(ddl);
  await conn.run(`INSERT OR IGNORE INTO meta VALUES ('schema', '${SCHEMA_VERSION}')`);
}

/** The store held open by this process until `release` (which lets the next holder in). */
export interface Handle extends Db {
  release(): void;
}

/** Opens the store, waiting for this process's other holders and retrying while another process holds it. */
export async function acquire(path: string, o: OpenOptions = {}): Promise<Handle> {
  const abs = resolve(path);
  if (o.readOnly && !existsSync(abs))
    throw new EdgefitError(`no event store at ${abs}`, 'E_MONITOR_DB', "ingest events first: 'edgefit monitor ingest events.jsonl --db <path>'");
  if (existsSync(abs) && statSync(abs).isDirectory())
    throw new EdgefitError(`${abs} is a folder, not an event store file`, 'E_MONITOR_DB', 'pass --db <file.duckdb>');
  const prev = queues.get(abs) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const tail = prev.then(() => mine);
  queues.set(abs, tail);
  await prev;
  const letGo = () => {
    done();
    if (queues.get(abs) === tail) queues.delete(abs);
  };
  try {
    if (!o.readOnly) mkdirSync(dirname(abs), { recursive: true });
    const { instance, conn } = await openWithRetry(abs, o);
    try {
      if (!o.readOnly) await ensureSchema(conn);
    } catch (e) {
      conn.closeSync();
      instance.closeSync();
      throw e;
    }
    let released = false;
    return {
      path: abs,
      conn,
      release: () => {
        if (released) return;
        released = true;
        try {
          conn.closeSync();
          instance.closeSync();
        } finally {
          letGo();
        }
      },
    };
  } catch (e) {
    letGo();
    throw e;
  }
}

/** Runs `fn` with the store open, then closes it (so the other process can have its turn). */
export async function withDb<T>(path: string, fn: (db: Db) => Promise<T>, o: OpenOptions = {}): Promise<T> {
  const h = await acquire(path, o);
  try {
    return await fn(h);
  } finally {
    h.release();
  }
}

/** Reads a query's rows as plain objects with bigints turned into numbers. */
export async function queryRows(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const r = await conn.runAndReadAll(sql);
  const rows = r.getRowObjectsJS() as Record<string, unknown>[];
  for (const row of rows) for (const k of Object.keys(row)) if (typeof row[k] === 'bigint') row[k] = Number(row[k]);
  return rows;
}

/** SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
