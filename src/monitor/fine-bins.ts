// Fixed fine bins for the drift histograms, the same for every store and query, so histograms can be
// summed over slots and machines ahead of time. A bin is a 0.5 % relative width on a signed log scale:
// bin j > 0 holds x in [1e-6·γ^(j−1), 1e-6·γ^j), bin −j the mirror for negative x, bin 0 |x| < 1e-6,
// with γ = 1.005. Bin ids grow with x, so quantiles and CDFs can be read from them. A score of 0.9 sits
// in a bin 0.0045 wide; a brightness of 0.5 in one 0.0025 wide.

/** The drift features: per-image input statistics, the first embedding coordinate, and the confidence. */
export const DRIFT_FEATURES: { name: string; sql: string; kind: 'input-drift' | 'output-drift' }[] = [
  { name: 'brightness', sql: 'brightness', kind: 'input-drift' },
  { name: 'contrast', sql: 'contrast', kind: 'input-drift' },
  { name: 'sharpness', sql: 'sharpness', kind: 'input-drift' },
  { name: 'embedding[1]', sql: 'embedding[1]', kind: 'input-drift' },
  { name: 'score', sql: 'score', kind: 'output-drift' },
];

export const FINE_GAMMA = 1.005;
export const FINE_ZERO = 1e-6;

/** The fine bin of x (null for null or non-finite x); matches `fineBinSql`. */
export function fineBin(x: number | null | undefined): number | null {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  if (Math.abs(x) < FINE_ZERO) return 0;
  const j = 1 + Math.floor(Math.log(Math.abs(x) / FINE_ZERO) / Math.log(FINE_GAMMA));
  return x > 0 ? j : -j;
}

/** The lower and upper edges of a fine bin (for docs and tests). */
export function fineBinEdges(bin: number): [number, number] {
  if (bin === 0) return [-FINE_ZERO, FINE_ZERO];
  const lo = FINE_ZERO * FINE_GAMMA ** (Math.abs(bin) - 1);
  const hi = lo * FINE_GAMMA;
  return bin > 0 ? [lo, hi] : [-hi, -lo];
}

/** SQL for the fine bin of the expression x (an INTEGER, NULL for null or non-finite x). */
export function fineBinSql(x: string): string {
  const j = `(1 + floor(ln(abs(${x}) / ${FINE_ZERO}) / ln(${FINE_GAMMA}))::INTEGER)`;
  return `(CASE WHEN ${x} IS NULL OR NOT isfinite(${x}) THEN NULL WHEN abs(${x}) < ${FINE_ZERO} THEN 0 WHEN ${x} > 0 THEN ${j} ELSE -${j} END)`;
}

/** Rows (slot, machine, feature, bin) of raw events matching `where`: one row per event and feature with a value. */
export function rawFineRowsSql(where: string, slotMs: number): string {
  const bins = DRIFT_FEATURES.map((f) => fineBinSql(`events.${f.sql}`)).join(', ');
  return `SELECT slot, machine, feature, bin FROM (
      SELECT ts // ${slotMs} * ${slotMs} AS slot, coalesce(machine, '') AS machine,
        unnest([${DRIFT_FEATURES.map((_, k) => k).join(', ')}]) AS feature, unnest([${bins}]) AS bin
      FROM events WHERE ${where}) WHERE bin IS NOT NULL`;
}
