// Which part of a query's time range the alerts read from the pre-aggregates and which from raw
// events. Whole slots in [since, until) up to the `rolled_until` watermark come from the agg_* tables;
// the rest — a partial slot at either end and the recent window after the watermark — from `events`.
// A bucket width that is not a multiple of the slot, or a store without pre-aggregates, reads raw only.

import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from './db.js';
import { readRolledUntil } from './rollup.js';
import { SLOT_MS } from './schema.js';

export interface Window {
  since: number;
  until: number;
  /** Slots with start in [aggLo, aggHi) come from the pre-aggregates; empty when aggHi <= aggLo. */
  aggLo: number;
  aggHi: number;
}

export const FAR = 8.64e15;

export async function readWindow(conn: DuckDBConnection, o: { since?: number; until?: number; bucketMs: number; aggregates?: boolean }): Promise<Window> {
  const since = Math.round(o.since ?? -FAR);
  const until = Math.round(o.until ?? FAR);
  const none = { since, until, aggLo: 0, aggHi: 0 };
  if (o.aggregates === false || o.bucketMs % SLOT_MS !== 0) return none;
  const has = await queryRows(conn, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'agg_cells'");
  if (!Number(has[0]!.n)) return none;
  const rolled = await readRolledUntil(conn);
  if (rolled === null) return none;
  const aggLo = Math.ceil(since / SLOT_MS) * SLOT_MS;
  const aggHi = Math.min(rolled, Math.floor(until / SLOT_MS) * SLOT_MS);
  return aggHi > aggLo ? { since, until, aggLo, aggHi } : none;
}

export const hasAgg = (w: Window) => w.aggHi > w.aggLo;

/** The raw events a query reads: in [since, until) and outside the aggregated slots. */
export function rawWhere(w: Window): string {
  const inRange = `ts >= ${w.since} AND ts < ${w.until}`;
  return hasAgg(w) ? `${inRange} AND NOT (ts >= ${w.aggLo} AND ts < ${w.aggHi})` : inRange;
}

/** The aggregated slots a query reads. */
export function aggWhere(w: Window): string {
  return `slot >= ${w.aggLo} AND slot < ${w.aggHi}`;
}

/** `raw` alone, or `raw UNION ALL agg` when the window has aggregated slots. */
export function unionSql(w: Window, raw: string, agg: string): string {
  return hasAgg(w) ? `(${raw}) UNION ALL (${agg})` : raw;
}
