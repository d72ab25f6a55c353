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
