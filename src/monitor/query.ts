// The SQL that reads the store for the alert engine. Everything comes back aggregated (per cell of
// machine × batch × bucket, or per bin), so the work in JavaScript does not grow with the event count.

import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from './db.js';

export interface Cell {
  machine: string;
  batch: string;
  line: string;
  material: string;
  bucket: number;
  n: number;
  k: number;
  /** Sum of score, sum of score², how many had a score. */
  s1: number;
  s2: number;
  ns: number;
}

export interface Range {
  min: number;
  max: number;
  events: number;
}

export async function readRange(conn: DuckDBConnection, since: number): Promise<Range> {
  const r = (await queryRows(conn, `SELECT min(ts) AS min, max(ts) AS max, count(*) AS events FROM events WHERE ts >= ${since}`))[0]!;
  return { min: Number(r.min ?? 0), max: Number(r.max ?? 0), events: Number(r.events) };
}

export async function readCells(conn: DuckDBConnection, since: number, bucketMs: number): Promise<Cell[]> {
  const rows = await queryRows(
    conn,
    `SELECT coalesce(machine, '') AS machine, coalesce(batch, '') AS batch, coalesce(line, '') AS line, coalesce(material, '') AS material,
       ts // ${bucketMs} AS bucket, count(*) AS n, sum(CASE WHEN defect THEN 1 ELSE 0 END) AS k,
       coalesce(sum(score), 0) AS s1, coalesce(sum(score * score), 0) AS s2, count(score) AS ns
     FROM events WHERE ts >= ${since} AND defect IS NOT NULL GROUP BY ALL ORDER BY bucket`,
  );
  return rows as unknown as Cell[];
}

export interface BinCount {
  feature: string;
  machine: string;
  bucket: number;
  bin: number;
  n: number;
}

const DECILES = Array.from({ length: 9 }, (_, i) => (i + 1) / 10).join(', ');

/** The bin (0–9) of x among 9 edges, as comparisons with constants (vectorised by DuckDB). */
function binExpr(x: string, edges: readonly number[]): string {
  return edges.map((e) => `(${x} >= ${Number.isFinite(e) ? e : 0})::INTEGER`).join(' + ');
}

/**
 * Counts per feature, machine, bucket and bin. The bins are the deciles of the whole reference window
 * (one small query), so the edges go into the SQL as constants and every feature is binned and counted
 * in one scan with DuckDB's `histogram` aggregate. Each machine is still compared with its own
 * reference histogram over these bins; only the bins are shared.
 */
export async function readBinned(
  conn: DuckDBConnection,
  features: readonly { name: string; col: (t: string) => string }[],
  since: number,
  refUntil: number,
  bucketMs: number,
): Promise<BinCount[]> {
  const alias = (k: number) => `f${k}`;
  const edges = (
    await queryRows(
      conn,
      `SELECT ${features.map((f, k) => `quantile_cont(${f.col('events')}, [${DECILES}]) AS ${alias(k)}`).join(', ')} FROM events WHERE ts >= ${since} AND ts < ${refUntil}`,
    )
  )[0]!;
  const used = features.map((f, k) => ({ f, k, e: edges[alias(k)] })).filter((x) => Array.isArray(x.e));
  if (!used.length) return [];
  const rows = await queryRows(
    conn,
    `SELECT machine, ts // ${bucketMs} AS bucket, ${used.map(({ f, k, e }) => `histogram(${binExpr(f.col('events'), e as number[])}) AS ${alias(k)}`).join(', ')}
     FROM events WHERE ts >= ${since} AND machine IS NOT NULL GROUP BY ALL`,
  );
  const out: BinCount[] = [];
  for (const r of rows) {
    for (const { f, k } of used) {
      const h = r[alias(k)] as { key: number; value: bigint | number }[] | null;
      for (const { key, value } of h ?? [])
        if (key !== null) out.push({ feature: f.name, machine: String(r.machine), bucket: Number(r.bucket), bin: Number(key), n: Number(value) });
    }
  }
  return out;
}

export interface ClassCount {
  machine: string;
  bucket: number;
  prediction: string;
  n: number;
}

export async function readClassMix(conn: DuckDBConnection, since: number, bucketMs: number): Promise<ClassCount[]> {
  return (await queryRows(
    conn,
    `SELECT machine, ts // ${bucketMs} AS bucket, prediction, count(*) AS n FROM events
     WHERE ts >= ${since} AND machine IS NOT NULL AND prediction IS NOT NULL GROUP BY ALL`,
  )) as unknown as ClassCount[];
}

export interface TruthCount {
  machine: string;
  batch: string;
  bucket: number;
  truth: string;
  correct: number;
  n: number;
}

export async function readTruth(conn: DuckDBConnection, since: number, bucketMs: number): Promise<TruthCount[]> {
  return (await queryRows(
    conn,
    `SELECT coalesce(machine, '') AS machine, coalesce(batch, '') AS batch, ts // ${bucketMs} AS bucket, truth,
       sum(CASE WHEN prediction = truth THEN 1 ELSE 0 END) AS correct, count(*) AS n
     FROM events WHERE ts >= ${since} AND truth IS NOT NULL AND prediction IS NOT NULL GROUP BY ALL`,
  )) as unknown as TruthCount[];
}
