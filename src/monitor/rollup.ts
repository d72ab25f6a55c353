// Keeps the pre-aggregates (schema.ts: agg_cells, agg_hist, agg_class, agg_truth) up to date. Whole
// 30-minute slots are summarised up to the `rolled_until` watermark in `meta`, one slot behind the
// newest event, so the slot still filling stays raw. An event that arrives for a slot already rolled
// up (a late one) makes its slots be summarised again from the raw events. Callers run these inside
// the transaction that inserted the events, so the summaries never disagree with the raw rows.

import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from './db.js';
import { rawFineRowsSql } from './fine-bins.js';
import { AGG_TABLES, SLOT_MS } from './schema.js';

const S = SLOT_MS;

export async function readRolledUntil(conn: DuckDBConnection): Promise<number | null> {
  const r = await queryRows(conn, "SELECT value FROM meta WHERE key = 'rolled_until'");
  return r.length ? Number(r[0]!.value) : null;
}

/** Summarises the raw events of slots [lo, hi) (epoch ms, slot-aligned) afresh: old rows of those slots go. */
export async function summariseSlots(conn: DuckDBConnection, lo: number, hi: number): Promise<void> {
  if (hi <= lo) return;
  const w = `ts >= ${lo} AND ts < ${hi}`;
  for (const t of AGG_TABLES) await conn.run(`DELETE FROM ${t} WHERE slot >= ${lo} AND slot < ${hi}`);
  await conn.run(`INSERT INTO agg_cells
    SELECT ts // ${S} * ${S} AS slot, coalesce(machine, ''), coalesce(batch, ''), coalesce(line, ''), coalesce(material, ''),
      count(*), count(defect), count(*) FILTER (WHERE defect),
      coalesce(sum(score) FILTER (WHERE defect IS NOT NULL), 0), coalesce(sum(score * score) FILTER (WHERE defect IS NOT NULL), 0),
      count(score) FILTER (WHERE defect IS NOT NULL), min(ts), max(ts)
    FROM events WHERE ${w} GROUP BY ALL`);
  await conn.run(`INSERT INTO agg_hist SELECT slot, machine, feature, bin, count(*) FROM (${rawFineRowsSql(w, S)}) GROUP BY ALL`);
  await conn.run(`INSERT INTO agg_class SELECT ts // ${S} * ${S}, machine, prediction, count(*) FROM events
    WHERE ${w} AND machine IS NOT NULL AND prediction IS NOT NULL GROUP BY ALL`);
  await conn.run(`INSERT INTO agg_truth SELECT ts // ${S} * ${S}, coalesce(machine, ''), coalesce(batch, ''), truth,
      count(*) FILTER (WHERE prediction = truth), count(*)
    FROM events WHERE ${w} AND truth IS NOT NULL AND prediction IS NOT NULL GROUP BY ALL`);
}

async function setRolledUntil(conn: DuckDBConnection, until: number): Promise<void> {
  await conn.run(`INSERT INTO meta VALUES ('rolled_until', '${until}') ON CONFLICT DO UPDATE SET value = excluded.value`);
}

/**
 * After inserting events with timestamps in [minTs, maxTs]: re-summarises the rolled-up slots that a
 * late event fell into, and rolls up the slots that are now complete (one slot behind `maxTs`, or up
 * to `atLeast`). Returns the new watermark.
 */
export async function rollUp(conn: DuckDBConnection, minTs: number | null, maxTs: number | null, atLeast = Number.NEGATIVE_INFINITY): Promise<number | null> {
  let until = await readRolledUntil(conn);
  if (until !== null && minTs !== null && minTs < until) await summariseSlots(conn, Math.floor(minTs / S) * S, until);
  if (maxTs === null) return until;
  const target = Math.max(Math.floor(maxTs / S) * S - S, Number.isFinite(atLeast) ? Math.ceil(atLeast / S) * S : Number.NEGATIVE_INFINITY);
  if (until === null) {
    const first = (await queryRows(conn, 'SELECT min(ts) AS m FROM events'))[0]!.m;
    if (first === null || first === undefined) return null;
    until = Math.floor(Number(first) / S) * S;
  }
  if (target > until) {
    await summariseSlots(conn, until, target);
    until = target;
  }
  await setRolledUntil(conn, until);
  return until;
}
