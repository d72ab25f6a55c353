// Fixed fine bins for the drift histograms, the same for every store and query, so histograms can be
// summed over slots and machines ahead of time. Below 1 in magnitude a bin is 0.01 wide (bin j holds
// [(j−1)/100, j/100) for j ≥ 1); from 1 up it is 1 % wide on a log scale (bin 100 + j holds
// [1.01^(j−1), 1.01^j)); negative values mirror that (bin −j). Bin ids grow with x, so quantiles and
// CDFs can be read from them. Features in [0, 1] (brightness, score) get at most 100 bins; a sharpness
// of 120 sits in a bin 1.2 wide.

/** The drift features: per-image input statistics, the first embedding coordinate, and the confidence. */
export const DRIFT_FEATURES: { name: string; sql: string; kind: 'input-drift' | 'output-drift' }[] = [
  { name: 'brightness', sql: 'brightness', kind: 'input-drift' },
  { name: 'contrast', sql: 'contrast', kind: 'input-drift' },
  { name: 'sharpness', sql: 'sharpness', kind: 'input-drift' },
  { name: 'embedding[1]', sql: 'embedding[1]', kind: 'input-drift' },
  { name: 'score', sql: 'score', kind: 'output-drift' },
];

export const FINE_WIDTH = 0.01;
export const FINE_GAMMA = 1.01;
const LINEAR_BINS = 100;

/** The fine bin of x (null for null or non-finite x); matches `fineBinSql`. */
export function fineBin(x: number | null | undefined): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const a = Math.abs(x);
  const j = a < 1 ? 1 + Math.floor(a / FINE_WIDTH) : LINEAR_BINS + 1 + Math.floor(Math.log(a) / Math.log(FINE_GAMMA));
  return x >= 0 ? j : -j;
}

/** The lower and upper edges of a fine bin of x ≥ 0 (for docs and tests; negative bins mirror them). */
export function fineBinEdges(bin: number): [number, number] {
  const j = Math.abs(bin);
  if (j <= LINEAR_BINS) return [(j - 1) * FINE_WIDTH, j * FINE_WIDTH];
  return [FINE_GAMMA ** (j - LINEAR_BINS - 1), FINE_GAMMA ** (j - LINEAR_BINS)];
}

/** SQL for the fine bin of the expression x (an INTEGER, NULL for null or non-finite x). */
export function fineBinSql(x: string): string {
  const j = `(CASE WHEN abs(${x}) < 1 THEN 1 + floor(abs(${x}) / ${FINE_WIDTH}) ELSE ${LINEAR_BINS + 1} + floor(ln(abs(${x})) / ln(${FINE_GAMMA})) END)::INTEGER`;
  return `(CASE WHEN ${x} IS NULL OR NOT isfinite(${x}) THEN NULL WHEN ${x} >= 0 THEN ${j} ELSE -${j} END)`;
}

/** Rows (slot, machine, feature, bin) of raw events matching `where`: one row per event and feature with a value. */
export function rawFineRowsSql(where: string, slotMs: number): string {
  const bins = DRIFT_FEATURES.map((f) => fineBinSql(`events.${f.sql}`)).join(', ');
  return `SELECT slot, machine, feature, bin FROM (
      SELECT ts // ${slotMs} * ${slotMs} AS slot, coalesce(machine, '') AS machine,
        unnest([${DRIFT_FEATURES.map((_, k) => k).join(', ')}]) AS feature, unnest([${bins}]) AS bin
      FROM events WHERE ${where}) WHERE bin IS NOT NULL`;
}
