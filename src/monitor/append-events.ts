// Writes events into the store in one statement: rows go through DuckDB's appender into a temporary
// staging table, then one INSERT OR IGNORE moves them into `events`. One statement is one transaction,
// so a file's events land all together or not at all, and an id already stored is skipped, not doubled.

import { DOUBLE, LIST, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { InspectionEvent } from './event.js';
import { rollUp } from './rollup.js';

const EMBEDDING_TYPE = LIST(DOUBLE);

export interface AppendResult {
  /** Rows that were new. */
  inserted: number;
  /** Rows whose id was already stored (or repeated within the input). */
  duplicates: number;
  /** Rows older than the compaction watermark: their hour is already summarised, so they are not added. */
  tooOld: number;
}

function str(a: DuckDBAppender, v: string | undefined): void {
  if (v === undefined) a.appendNull();
  else a.appendVarchar(v);
}

function num(a: DuckDBAppender, v: number | undefined): void {
  if (v === undefined) a.appendNull();
  else a.appendDouble(v);
}

/** One event as one appender row, in the column order of schema.ts. */
export function appendRow(a: DuckDBAppender, e: InspectionEvent): void {
  a.appendVarchar(e.id);
  a.appendBigInt(BigInt(Math.round(e.ts)));
  str(a, e.line);
  str(a, e.machine);
  str(a, e.batch);
  str(a, e.partId);
  str(a, e.material);
  str(a, e.model);
  str(a, e.prediction);
  if (e.defect === undefined) a.appendNull();
  else a.appendBoolean(e.defect);
  num(a, e.score);
  num(a, e.latencyMs);
  num(a, e.brightness);
  num(a, e.contrast);
  num(a, e.sharpness);
  if (e.embedding === undefined) a.appendNull();
  else a.appendList(e.embedding, EMBEDDING_TYPE);
  str(a, e.truth);
  a.endRow();
}

let stagingSeq = 0;

/** A staging table that rows are appended to and then committed into `events` in one statement. */
export class Staging {
  private appender: DuckDBAppender | undefined;
  rows = 0;
  private constructor(
    private readonly conn: DuckDBConnection,
    readonly table: string,
  ) {}

  static async create(conn: DuckDBConnection): Promise<Staging> {
    const table = `staging_${process.pid}_${stagingSeq++}`;
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT * FROM events LIMIT 0`);
    const s = new Staging(conn, table);
    s.appender = await conn.createAppender(table, 'main', 'temp');
    return s;
  }

  add(e: InspectionEvent): void {
    appendRow(this.appender!, e);
    this.rows++;
  }

  /** Moves the staged rows into `events` and updates the pre-aggregates, in one transaction; drops the staging table. */
  async commit(): Promise<AppendResult> {
    this.appender!.closeSync();
    this.appender = undefined;
    const t = this.table;
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const wm = await this.conn.runAndReadAll("SELECT value FROM meta WHERE key = 'compacted_before'");
      const watermark = Number(wm.getRows()[0]?.[0] ?? '-9223372036854775808');
      const old = await this.conn.runAndReadAll(
        `SELECT count(*) FILTER (WHERE ts < ${watermark}), min(ts) FILTER (WHERE ts >= ${watermark}), max(ts) FILTER (WHERE ts >= ${watermark}) FROM ${t}`,
      );
      const [tooOldN, minTs, maxTs] = old.getRows()[0] ?? [];
      const tooOld = Number(tooOldN ?? 0);
      // Within the input the first row of an id wins; against the table, the stored row wins.
      const r = await this.conn.run(
        `INSERT OR IGNORE INTO events SELECT * FROM ${t} WHERE ts >= ${watermark} QUALIFY row_number() OVER (PARTITION BY id ORDER BY ts) = 1`,
      );
      const inserted = r.rowsChanged;
      if (inserted) await rollUp(this.conn, minTs === null ? null : Number(minTs), maxTs === null ? null : Number(maxTs));
      await this.conn.run(`DROP TABLE temp.${t}`);
      await this.conn.run('COMMIT');
      return { inserted, duplicates: this.rows - tooOld - inserted, tooOld };
    } catch (e) {
      await this.conn.run('ROLLBACK');
      throw e;
    }
  }

  async discard(): Promise<void> {
    this.appender?.closeSync();
    this.appender = undefined;
    await this.conn.run(`DROP TABLE IF EXISTS temp.${this.table}`);
  }
}

/** Appends a list of events (serve's path): staged, then committed in one statement. */
export async function appendEvents(conn: DuckDBConnection, events: readonly InspectionEvent[]): Promise<AppendResult> {
  const s = await Staging.create(conn);
  try {
    for (const e of events) s.add(e);
  } catch (err) {
    await s.discard();
    throw err;
  }
  return s.commit();
}

/**
 * serve's fast path while the store holds the file: one staging table and the compaction watermark
 * kept for as long as the handle is held (compaction needs the write lock, so the watermark cannot
 * change meanwhile); an append is then an appender flush, one INSERT and one DELETE.
 */
export class HeldWriter {
  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly table: string,
    private readonly watermark: number,
  ) {}

  static async open(conn: DuckDBConnection): Promise<HeldWriter> {
    const table = `held_${process.pid}_${stagingSeq++}`;
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${table} AS SELECT * FROM events LIMIT 0`);
    const wm = await conn.runAndReadAll("SELECT value FROM meta WHERE key = 'compacted_before'");
    return new HeldWriter(conn, table, Number(wm.getRows()[0]?.[0] ?? Number.MIN_SAFE_INTEGER));
  }

  async write(events: readonly InspectionEvent[]): Promise<AppendResult> {
    const fresh = events.filter((e) => e.ts >= this.watermark);
    const a = await this.conn.createAppender(this.table, 'main', 'temp');
    try {
      for (const e of fresh) appendRow(a, e);
      a.closeSync();
    } catch (e) {
      // A half-appended batch must not ride along with the next one.
      a.closeSync();
      await this.conn.run(`DELETE FROM ${this.table}`);
      throw e;
    }
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const e of fresh) (lo = Math.min(lo, e.ts)), (hi = Math.max(hi, e.ts));
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const r = await this.conn.run(`INSERT OR IGNORE INTO events SELECT * FROM ${this.table} QUALIFY row_number() OVER (PARTITION BY id ORDER BY ts) = 1`);
      if (r.rowsChanged) await rollUp(this.conn, Math.round(lo), Math.round(hi));
      await this.conn.run('COMMIT');
      return { inserted: r.rowsChanged, duplicates: fresh.length - r.rowsChanged, tooOld: events.length - fresh.length };
    } catch (e) {
      await this.conn.run('ROLLBACK');
      throw e;
    } finally {
      await this.conn.run(`DELETE FROM ${this.table}`);
    }
  }
}
