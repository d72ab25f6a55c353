// The event store's tables, in one place: raw inspection events, hourly summaries left by compaction,
// and a small key/value table for the compaction watermark. docs/monitor.md describes each column.

/** Raw events, one row per inspected part. `id` is the primary key, so ingest is idempotent. */
export const EVENTS_DDL = `CREATE TABLE IF NOT EXISTS events (
  id VARCHAR PRIMARY KEY,
  ts BIGINT NOT NULL,
  line VARCHAR, machine VARCHAR, batch VARCHAR, part_id VARCHAR, material VARCHAR,
  model VARCHAR, prediction VARCHAR, defect BOOLEAN, score DOUBLE, latency_ms DOUBLE,
  brightness DOUBLE, contrast DOUBLE, sharpness DOUBLE, embedding DOUBLE[], truth VARCHAR
)`;

/** The column order of `events`, which the appender follows. */
export const EVENT_COLUMNS = [
  'id',
  'ts',
  'line',
  'machine',
  'batch',
  'part_id',
  'material',
  'model',
  'prediction',
  'defect',
  'score',
  'latency_ms',
  'brightness',
  'contrast',
  'sharpness',
  'embedding',
  'truth',
] as const;

/** What compaction keeps of raw events older than the retention: sums per (hour, line, machine, batch). */
export const SUMMARY_DDL = `CREATE TABLE IF NOT EXISTS hourly (
  hour BIGINT NOT NULL, line VARCHAR NOT NULL, machine VARCHAR NOT NULL, batch VARCHAR NOT NULL,
  n BIGINT NOT NULL, defects BIGINT NOT NULL, score_sum DOUBLE NOT NULL, score_n BIGINT NOT NULL,
  brightness_sum DOUBLE NOT NULL, contrast_sum DOUBLE NOT NULL, sharpness_sum DOUBLE NOT NULL, input_n BIGINT NOT NULL,
  truth_n BIGINT NOT NULL, correct BIGINT NOT NULL,
  PRIMARY KEY (hour, line, machine, batch)
)`;

export const META_DDL = 'CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)';

export const SCHEMA_VERSION = '1';

/**
 * Pre-aggregates for the alerts, one set of rows per 30-minute slot (`slot` = its start, epoch ms), kept
 * up to the `rolled_until` watermark in `meta` by ingest, the serve writer and compaction (rollup.ts).
 * The alerts read them for whole slots and raw events only for the rest (the recent window).
 * `agg_cells`: per (slot, machine, batch, line, material): all events, and over events with a `defect`
 * the count, defects and score sums, plus the slot's first and last ts.
 */
export const AGG_CELLS_DDL = `CREATE TABLE IF NOT EXISTS agg_cells (
  slot BIGINT NOT NULL, machine VARCHAR NOT NULL, batch VARCHAR NOT NULL, line VARCHAR NOT NULL, material VARCHAR NOT NULL,
  n_all BIGINT NOT NULL, n BIGINT NOT NULL, k BIGINT NOT NULL, s1 DOUBLE NOT NULL, s2 DOUBLE NOT NULL, ns BIGINT NOT NULL,
  min_ts BIGINT NOT NULL, max_ts BIGINT NOT NULL
)`;

/** Per (slot, machine, feature, fine bin): how many events' feature fell in the bin (fine-bins.ts). */
export const AGG_HIST_DDL = `CREATE TABLE IF NOT EXISTS agg_hist (
  slot BIGINT NOT NULL, machine VARCHAR NOT NULL, feature TINYINT NOT NULL, bin INTEGER NOT NULL, n BIGINT NOT NULL
)`;

/** Per (slot, machine, prediction): the class mix. */
export const AGG_CLASS_DDL = `CREATE TABLE IF NOT EXISTS agg_class (
  slot BIGINT NOT NULL, machine VARCHAR NOT NULL, prediction VARCHAR NOT NULL, n BIGINT NOT NULL
)`;

/** Per (slot, machine, batch, truth): audited events and how many the model got right. */
export const AGG_TRUTH_DDL = `CREATE TABLE IF NOT EXISTS agg_truth (
  slot BIGINT NOT NULL, machine VARCHAR NOT NULL, batch VARCHAR NOT NULL, truth VARCHAR NOT NULL, correct BIGINT NOT NULL, n BIGINT NOT NULL
)`;

export const AGG_TABLES = ['agg_cells', 'agg_hist', 'agg_class', 'agg_truth'] as const;

/** The pre-aggregates' grain: 30 minutes, so it divides an hour (compaction's cutoff) and the default bucket. */
export const SLOT_MS = 30 * 60_000;
