// The SQL that reads the store for the alert engine. Everything comes back aggregated (per cell of
// machine × batch × bucket, or per bin), so the work in JavaScript does not grow with the event count.
// Each reader sums the pre-aggregates of the window's whole slots with the raw events of the rest
// (window.ts); both halves give the same rows, so the result does not depend on what is rolled up.

import type { DuckDBConnection } from '@duckdb/node-api';
import { queryRows } from './db.js';
import { DRIFT_FEATURES, rawFineRowsSql } from './fine-bins.js';
import { SLOT_MS } from './schema.js';
import { aggWhere, rawWhere, unionSql, type Window } from './window.js';

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

export async function readRange(conn: DuckDBConnection, w: Window): Promise<Range> {
  const raw = `SELECT min(ts) AS mn, max(ts) AS mx, count(*) AS c FROM events WHERE ${rawWhere(w)}`;
  const agg = `SELECT min(min_ts), max(max_ts), sum(n_all) FROM agg_cells WHERE ${aggWhere(w)}`;
  const r = (await queryRows(conn, `SELECT min(mn) AS min, max(mx) AS max, coalesce(sum(c), 0) AS events FROM (${unionSql(w, raw, agg)})`))[0]!;
  return { min: Number(r.min ?? 0), max: Number(r.max ?? 0), events: Number(r.events) };
}

export async function readCells(conn: DuckDBConnection, w: Window, bucketMs: number): Promise<Cell[]> {
  const raw = `SELECT coalesce(machine, '') AS machine, coalesce(batch, '') AS batch, coalesce(line, '') AS line, coalesce(material, '') AS material,
       ts // ${bucketMs} AS bucket, count(*) AS n, count(*) FILTER (WHERE defect) AS k,
       coalesce(sum(score), 0) AS s1, coalesce(sum(score * score), 0) AS s2, count(score) AS ns
     FROM events WHERE ${rawWhere(w)} AND defect IS NOT NULL GROUP BY ALL`;
  const agg = `SELECT machine, batch, line, material, slot // ${bucketMs}, sum(n), sum(k), sum(s1), sum(s2), sum(ns)
     FROM agg_cells WHERE ${aggWhere(w)} AND n > 0 GROUP BY ALL`;
  const rows = await queryRows(
    conn,
    `SELECT machine, batch, line, material, bucket, sum(n) AS n, sum(k) AS k, sum(s1) AS s1, sum(s2) AS s2, sum(ns) AS ns
     FROM (${unionSql(w, raw, agg)}) GROUP BY ALL ORDER BY bucket, machine, batch, line, material`,
  );
  return rows as unknown as Cell[];
}

/** One feature's counts for one machine and bucket over the coarse bins (`EDGES + 1` of them). */
export interface BinnedRow {
  feature: string;
  machine: string;
  bucket: number;
  counts: number[];
}

/** Coarse bins for drift: the reference's 20-quantiles (KS reads the CDF at their edges; PSI merges pairs into deciles). */
export const COARSE_BINS = 20;

/** Fine-bin rows (slot, machine, feature, bin, n) of the window, from raw events and the pre-aggregates. */
function fineRowsSql(w: Window, extraRaw: string, extraAgg: string): string {
  const raw = `SELECT slot, machine, feature, bin, 1 AS n FROM (${rawFineRowsSql(`${rawWhere(w)}${extraRaw}`, SLOT_MS)})`;
  const agg = `SELECT slot, machine, feature, bin, n FROM agg_hist WHERE ${aggWhere(w)}${extraAgg}`;
  return unionSql(w, raw, agg);
}

/**
 * The coarse bin edges per feature, as fine-bin ids: edge k is the first fine bin at which the pooled
 * reference's CDF reaches k/20, so coarse bin c holds fine bins in (edge c, edge c+1]. Null for a
 * feature without reference data.
 */
export async function readEdges(conn: DuckDBConnection, w: Window, refUntil: number): Promise<(number[] | null)[]> {
  const rows = await queryRows(
    conn,
    `SELECT feature, bin, sum(n) AS n FROM (${fineRowsSql(w, ` AND ts < ${refUntil}`, ` AND slot < ${refUntil}`)}) GROUP BY ALL ORDER BY feature, bin`,
  );
  return DRIFT_FEATURES.map((_, f) => {
    const h = rows.filter((r) => Number(r.feature) === f);
    const total = h.reduce((s, r) => s + Number(r.n), 0);
    if (!total) return null;
    const edges: number[] = [];
    let cum = 0;
    let i = 0;
    for (let k = 1; k < COARSE_BINS; k++) {
      while (cum + Number(h[i]!.n) < (k * total) / COARSE_BINS - 1e-9) cum += Number(h[i++]!.n);
      edges.push(Number(h[i]!.bin));
    }
    return edges;
  });
}

/** SQL for the coarse bin of fine bin `bin` of feature `feature`: the count of edges below it. */
function coarseSql(edges: readonly (number[] | null)[]): string {
  const cases = edges.map((e, f) => (e ? `WHEN ${f} THEN ${e.map((x) => `(bin > ${x})::INTEGER`).join(' + ')}` : '')).join(' ');
  return `CASE feature ${cases} END`;
}

/**
 * Counts per feature, machine, bucket and coarse bin. The coarse bins are the 20-quantiles of the
 * whole reference window read from the fine histograms (fine-bins.ts), so they come from the
 * pre-aggregates without a pass over raw events; each machine is still compared with its own reference
 * histogram over these bins.
 */
export async function readBinned(conn: DuckDBConnection, w: Window, refUntil: number, bucketMs: number): Promise<BinnedRow[]> {
  const edges = await readEdges(conn, w, refUntil);
  if (edges.every((e) => e === null)) return [];
  const used = edges.map((e, f) => (e ? f : -1)).filter((f) => f >= 0);
  const r = await conn.runAndReadAll(
    `SELECT machine, bucket, feature, list(c ORDER BY c) AS cs, list(n ORDER BY c) AS ns FROM (
       SELECT machine, slot // ${bucketMs} AS bucket, feature, ${coarseSql(edges)} AS c, sum(n) AS n
       FROM (${fineRowsSql(w, ' AND machine IS NOT NULL', '')})
       WHERE machine <> '' AND feature IN (${used.join(', ')}) GROUP BY ALL
     ) GROUP BY ALL ORDER BY feature, machine, bucket`,
  );
  const out: BinnedRow[] = [];
  for (const [machine, bucket, feature, cs, ns] of r.getRowsJS() as [string, bigint, number, number[], bigint[]][]) {
    const counts = new Array<number>(COARSE_BINS).fill(0);
    for (let j = 0; j < cs.length; j++) counts[cs[j]!] = Number(ns[j]);
    out.push({ feature: DRIFT_FEATURES[feature]!.name, machine, bucket: Number(bucket), counts });
  }
  return out;
}

export interface ClassCount {
  machine: string;
  bucket: number;
  prediction: string;
  n: number;
}

export async function readClassMix(conn: DuckDBConnection, w: Window, bucketMs: number): Promise<ClassCount[]> {
  const raw = `SELECT machine, ts // ${bucketMs} AS bucket, prediction, count(*) AS n FROM events
     WHERE ${rawWhere(w)} AND machine IS NOT NULL AND prediction IS NOT NULL GROUP BY ALL`;
  const agg = `SELECT machine, slot // ${bucketMs}, prediction, sum(n) FROM agg_class WHERE ${aggWhere(w)} GROUP BY ALL`;
  return (await queryRows(
    conn,
    `SELECT machine, bucket, prediction, sum(n) AS n FROM (${unionSql(w, raw, agg)}) GROUP BY ALL ORDER BY bucket, machine, prediction`,
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

export async function readTruth(conn: DuckDBConnection, w: Window, bucketMs: number): Promise<TruthCount[]> {
  const raw = `SELECT coalesce(machine, '') AS machine, coalesce(batch, '') AS batch, ts // ${bucketMs} AS bucket, truth,
       count(*) FILTER (WHERE prediction = truth) AS correct, count(*) AS n
     FROM events WHERE ${rawWhere(w)} AND truth IS NOT NULL AND prediction IS NOT NULL GROUP BY ALL`;
  const agg = `SELECT machine, batch, slot // ${bucketMs}, truth, sum(correct), sum(n) FROM agg_truth WHERE ${aggWhere(w)} GROUP BY ALL`;
  return (await queryRows(
    conn,
    `SELECT machine, batch, bucket, truth, sum(correct) AS correct, sum(n) AS n FROM (${unionSql(w, raw, agg)}) GROUP BY ALL ORDER BY bucket, machine, batch, truth`,
  )) as unknown as TruthCount[];
}
