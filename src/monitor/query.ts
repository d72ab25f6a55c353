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
  machine: string;
  bucket: number;
  bin: number;
  n: number;
}

/** Counts per machine, bucket and decile bin of the machine's reference distribution of `expr`. */
export async function readBinned(conn: DuckDBConnection, col: (table: string) => string, since: number, refUntil: number, bucketMs: number): Promise<BinCount[]> {
  const q = Array.from({ length: 9 }, (_, i) => (i + 1) / 10).join(', ');
  const r = col('r');
  const v = col('ev');
  return (await queryRows(
    conn,
    `WITH ed AS (SELECT r.machine, list_distinct(quantile_cont(${r}, [${q}])) AS e FROM events r
                 WHERE r.ts >= ${since} AND r.ts < ${refUntil} AND ${r} IS NOT NULL AND r.machine IS NOT NULL GROUP BY r.machine)
     SELECT ev.machine AS machine, ev.ts // ${bucketMs} AS bucket, len(list_filter(ed.e, lambda x: x <= ${v})) AS bin, count(*) AS n
     FROM events ev JOIN ed ON ed.machine = ev.machine WHERE ev.ts >= ${since} AND ${v} IS NOT NULL GROUP BY ALL`,
  )) as unknown as BinCount[];
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
