// The alert engine: reads the store (aggregated in SQL), builds the control charts, drift series,
// quality table and attributions, and turns them into alerts. `monitor alerts` prints the result and
// `monitor report` draws it.

import type { DuckDBConnection } from '@duckdb/node-api';
import { EdgefitError } from '../onnx/errors.js';
import type { Alert } from './alert.js';
import { attribute, type Attribution } from './attribution.js';
import { buildAlerts } from './build-alerts.js';
import { buildCharts, type SliceChart } from './charts.js';
import { withDb, type OpenOptions } from './db.js';
import { classMixDrift, featureDrift, type DriftSeries } from './drift.js';
import { performanceRows, type PerfRow } from './performance.js';
import { DRIFT_FEATURES } from './fine-bins.js';
import { readBinned, readCells, readClassMix, readRange, readTruth, type Range } from './query.js';
import { readWindow } from './window.js';
import { chooseRuleSet, RULE_TEXT, type Rule } from './stats/rules.js';

export const ALERTS_SCHEMA = 'edgefit.monitor.alerts/1';

export interface AnalyzeOptions extends OpenOptions {
  /** Only events at or after this epoch ms. */
  since?: number;
  /** Only events before this epoch ms. */
  until?: number;
  /** Read whole slots from the pre-aggregates (default true); false reads raw events only (tests, checks). */
  aggregates?: boolean;
  /** End of the reference window (epoch ms); default: the first `referenceFraction` of the time range. */
  referenceUntil?: number;
  referenceFraction?: number;
  /** Subgroup width in ms (default 30 minutes). */
  bucketMs?: number;
  /** In-control false alarms per chart point that the run rules may have (default 0.0027, rule 1 alone). */
  falseAlarmRate?: number;
  /** False-discovery rate for attribution and the family-wise level for drift tests (default 0.01). */
  q?: number;
}

/** Input statistics drifted per machine; `score` is the output (confidence) distribution. */
export const FEATURES = DRIFT_FEATURES;

export interface Analysis {
  schema: string;
  db: string;
  range: Range;
  bucketMs: number;
  referenceUntil: number;
  ruleSet: { set: string; rules: Rule[]; text: string[]; falseAlarmRate: number; arl: number };
  charts: SliceChart[];
  drift: DriftSeries[];
  performance: PerfRow[];
  attributions: Attribution[];
  alerts: Alert[];
}

async function analyzeConn(conn: DuckDBConnection, path: string, o: AnalyzeOptions): Promise<Analysis> {
  const bucketMs = o.bucketMs ?? 30 * 60_000;
  const w = await readWindow(conn, { ...o, bucketMs });
  const range = await readRange(conn, w);
  if (range.events === 0)
    throw new EdgefitError(
      `no events in ${path}${o.since !== undefined ? ` since ${new Date(o.since).toISOString()}` : ''}${o.until !== undefined ? ` until ${new Date(o.until).toISOString()}` : ''}`,
      'E_MONITOR_DATA',
      "ingest events first ('edgefit monitor ingest'), or move --since earlier",
    );
  const refRaw = o.referenceUntil ?? range.min + (range.max - range.min) * (o.referenceFraction ?? 0.25);
  // The reference ends on a bucket boundary, so no subgroup straddles it.
  const firstMonitorBucket = Math.ceil(refRaw / bucketMs);
  const referenceUntil = firstMonitorBucket * bucketMs;
  if (referenceUntil <= range.min) throw new EdgefitError('the reference window holds no events', 'E_USAGE', '--reference-until must be after the first event');
  const rs = chooseRuleSet(o.falseAlarmRate ?? 0.0027);
  const cells = await readCells(conn, w, bucketMs);
  const charts = buildCharts(cells, { firstMonitorBucket, rules: rs.rules });
  const drift: DriftSeries[] = [];
  const binned = await readBinned(conn, w, referenceUntil, bucketMs);
  for (const f of FEATURES)
    drift.push(
      ...featureDrift(
        f.name,
        binned.filter((r) => r.feature === f.name),
        firstMonitorBucket,
      ),
    );
  drift.push(...classMixDrift(await readClassMix(conn, w, bucketMs), firstMonitorBucket));
  const performance = performanceRows(cells, await readTruth(conn, w, bucketMs), firstMonitorBucket);
  const attributions = attribute(cells, { firstMonitorBucket, q: o.q ?? 0.01 });
  const ruleSet = { set: rs.set, rules: rs.rules, text: rs.rules.map((r) => `${r}: ${RULE_TEXT[r]}`), falseAlarmRate: rs.rate, arl: 1 / rs.rate };
  const base = { schema: ALERTS_SCHEMA, db: path, range, bucketMs, referenceUntil, ruleSet, charts, drift, performance, attributions };
  return { ...base, alerts: buildAlerts(base, cells, o.q ?? 0.01) };
}

/** Everything the alerts and the dashboard show, from the store at `dbPath`. */
export async function analyze(dbPath: string, o: AnalyzeOptions = {}): Promise<Analysis> {
  return withDb(dbPath, (db) => analyzeConn(db.conn, db.path, o), { ...o, readOnly: true });
}
