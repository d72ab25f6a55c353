// The alert: what `monitor alerts --json` prints, one per finding. docs/monitor.md documents each field.

export type AlertKind = 'attribution' | 'defect-rate' | 'confidence' | 'input-drift' | 'output-drift' | 'accuracy';

export interface Alert {
  kind: AlertKind;
  /** The slice it is about, e.g. {"machine":"M3"} or {"batch":"B7"}. */
  slice: Record<string, string>;
  /** When the change began (epoch ms): the estimated change point, or the first alarmed bucket. */
  start_ts: number;
  /** When the data first showed it (epoch ms): the end of the bucket where a chart first fired. */
  detected_ts: number;
  /** What was measured: 'p', 'ewma', 'cusum', 'psi', 'ks', 'chi-square', 'accuracy', 'z'. */
  statistic: string;
  value: number;
  limit: number;
  /** The rule that fired: 'WE1'…'WE4', 'EWMA λ=0.2 L=3', 'CUSUM k=0.5 h=5', 'BH q=0.01', … */
  rule: string;
  /** One line for people. */
  message: string;
  /** For a chart alarm that an attributed slice accounts for: that slice (the batch, not each machine). */
  explained_by?: Record<string, string>;
  /** Extra figures (the feature drifted, rates, p-values). */
  detail?: Record<string, number | string>;
}

export function sliceLabel(s: Record<string, string>): string {
  return Object.entries(s)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}
