// Retention: raw events older than the retention become one row per (hour, line, machine, batch) in
// `hourly`, and the raw rows go, in one transaction. The compaction watermark is kept in `meta`, so a
// late event for an hour already summarised is not added as raw (ingest reports it as too old). DuckDB
// reuses the freed blocks, so under a steady stream the file stops growing at about the retention's
// worth of raw events plus the summaries; CHECKPOINT folds the WAL in. The alerts' pre-aggregates
// (rollup.ts) are brought up to the cutoff first and kept, so alerts still see the compacted history.

import { statSync } from 'node:fs';
import { queryRows, withDb, type OpenOptions } from './db.js';
import { rollUp } from './rollup.js';

export interface CompactResult {
  cutoff: number;
  summarised: number;
  hourlyRows: number;
  remaining: number;
  bytesBefore: number;
  bytesAfter: number;
}

const size = (p: string) => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};

/** Summarises and deletes raw events older than `retainMs` before the newest event (or `now`). */
export async function compactStore(dbPath: string, o: OpenOptions & { retainMs: number; now?: number }): Promise<CompactResult> {
  return withDb(
    dbPath,
    async ({ conn, path }) => {
      const bytesBefore = size(path) + size(`${path}.wal`);
      const newest = Number((await queryRows(conn, 'SELECT coalesce(max(ts), 0) AS m FROM events'))[0]!.m);
      // Whole hours only, so an hour is never half raw and half summarised.
      const cutoff = Math.floor(((o.now ?? newest) - o.retainMs) / 3_600_000) * 3_600_000;
      await conn.run('BEGIN TRANSACTION');
      try {
        // The pre-aggregates must cover what is about to be deleted: the alerts keep reading them.
        await rollUp(conn, null, newest, cutoff);
        const r = await conn.run(`INSERT INTO hourly
          SELECT ts // 3600000 * 3600000 AS hour, coalesce(line, ''), coalesce(machine, ''), coalesce(batch, ''),
            count(*), sum(CASE WHEN defect THEN 1 ELSE 0 END), coalesce(sum(score), 0), count(score),
            coalesce(sum(brightness), 0), coalesce(sum(contrast), 0), coalesce(sum(sharpness), 0), count(brightness),
            count(truth), sum(CASE WHEN truth IS NOT NULL AND truth = prediction THEN 1 ELSE 0 END)
          FROM events WHERE ts < ${cutoff} GROUP BY ALL
          ON CONFLICT DO UPDATE SET n = n + excluded.n, defects = defects + excluded.defects, score_sum = score_sum + excluded.score_sum,
            score_n = score_n + excluded.score_n, brightness_sum = brightness_sum + excluded.brightness_sum, contrast_sum = contrast_sum + excluded.contrast_sum,
            sharpness_sum = sharpness_sum + excluded.sharpness_sum, input_n = input_n + excluded.input_n, truth_n = truth_n + excluded.truth_n, correct = correct + excluded.correct`);
        const del = await conn.run(`DELETE FROM events WHERE ts < ${cutoff}`);
        await conn.run(
          `INSERT INTO meta VALUES ('compacted_before', '${cutoff}') ON CONFLICT DO UPDATE SET value = CAST(greatest(CAST(value AS BIGINT), ${cutoff}) AS VARCHAR)`,
        );
        await conn.run('COMMIT');
        await conn.run('CHECKPOINT');
        const remaining = Number((await queryRows(conn, 'SELECT count(*) AS n FROM events'))[0]!.n);
        return { cutoff, summarised: del.rowsChanged, hourlyRows: r.rowsChanged, remaining, bytesBefore, bytesAfter: size(path) + size(`${path}.wal`) };
      } catch (e) {
        await conn.run('ROLLBACK');
        throw e;
      }
    },
    o,
  );
}
