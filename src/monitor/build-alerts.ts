// Turns charts, drift series, the quality table and attributions into the alert list. One alert per
// slice and chart (the first alarm, with the count of later ones in `detail`), so a creeping machine
// is one alert, not one per bucket. Chart alarms that an attributed slice accounts for carry
// `explained_by`, so a bad batch is one blame, not eight machines.

import type { Alert } from './alert.js';
import { sliceLabel } from './alert.js';
import type { Attribution } from './attribution.js';
import type { ChartPoint, SliceChart } from './charts.js';
import type { Analysis } from './analyze.js';
import { flagged, PSI_FLOOR } from './drift.js';
import type { Cell } from './query.js';
import type { DriftChart } from './stats/ewma-cusum.js';
import { normalQuantile } from './stats/normal.js';
import { wilson } from './stats/tests.js';

type Base = Omit<Analysis, 'alerts'>;

const iso = (ts: number) => new Date(ts).toISOString().slice(0, 16).replace('T', ' ');

function explainer(attrs: readonly Attribution[], cells: readonly Cell[], c: SliceChart, bucket: number): Record<string, string> | undefined {
  if (attrs.some((a) => a.dim === c.dim && a.value === c.value)) return undefined;
  for (const a of attrs) {
    if (bucket < a.startBucket) continue;
    if (cells.some((x) => x.bucket === bucket && x[c.dim] === c.value && x[a.dim] === a.value)) return { [a.dim]: a.value };
  }
  return undefined;
}

function chartAlerts(b: Base, cells: readonly Cell[], c: SliceChart): Alert[] {
  const B = b.bucketMs;
  const mon = c.points.filter((p) => !p.reference);
  const slice = { [c.dim]: c.value };
  const out: Alert[] = [];
  const push = (
    kind: Alert['kind'],
    at: ChartPoint,
    start: ChartPoint,
    statistic: string,
    value: number,
    limit: number,
    rule: string,
    message: string,
    later: number,
  ) => {
    const a: Alert = {
      kind,
      slice,
      start_ts: start.bucket * B,
      detected_ts: (at.bucket + 1) * B,
      statistic,
      value,
      limit,
      rule,
      message,
      detail: { later_alarms: later },
    };
    const ex = kind === 'defect-rate' ? explainer(b.attributions, cells, c, at.bucket) : undefined;
    if (ex) a.explained_by = ex;
    out.push(a);
  };
  const hits = c.ruleHits;
  if (hits.length) {
    const h = hits[0]!;
    const p = mon[h.index]!;
    push(
      'defect-rate',
      p,
      p,
      'p',
      p.p,
      h.side > 0 ? p.ucl : p.lcl,
      h.rule,
      `${sliceLabel(slice)}: defect rate ${(p.p * 100).toFixed(1)}% at ${iso(p.bucket * B)} against limits ${(p.lcl * 100).toFixed(1)}–${(p.ucl * 100).toFixed(1)}% (${h.rule})`,
      hits.length - 1,
    );
  }
  const drift = (kind: 'defect-rate' | 'confidence', ch: DriftChart | null, name: 'ewma' | 'cusum', what: string) => {
    if (!ch || ch.alarm < 0) return;
    const later = ch.stat.filter((s, i) => i > ch.alarm && Math.abs(s) > ch.limit[i]!).length;
    const rule = name === 'ewma' ? 'EWMA λ=0.2 L=3' : 'CUSUM k=0.5 h=5';
    const v = ch.stat[ch.alarm]!;
    const side = v > 0 ? 'up' : 'down';
    push(
      kind,
      mon[ch.alarm]!,
      mon[Math.max(0, ch.start)]!,
      name,
      v,
      ch.limit[ch.alarm]! * Math.sign(v),
      rule,
      `${sliceLabel(slice)}: ${what} drifted ${side} from ${iso(mon[Math.max(0, ch.start)]!.bucket * B)} (${rule})`,
      later,
    );
  };
  drift('defect-rate', c.defectEwma, 'ewma', 'defect rate');
  drift('defect-rate', c.defectCusum, 'cusum', 'defect rate');
  drift('confidence', c.scoreEwma, 'ewma', 'mean confidence (the label-free accuracy estimate)');
  drift('confidence', c.scoreCusum, 'cusum', 'mean confidence (the label-free accuracy estimate)');
  return out;
}

export function buildAlerts(b: Base, cells: readonly Cell[], q: number): Alert[] {
  const B = b.bucketMs;
  const alerts: Alert[] = [];
  for (const c of b.charts) alerts.push(...chartAlerts(b, cells, c));
  const m = b.charts.length || 1;
  for (const a of b.attributions) {
    const slice = { [a.dim]: a.value };
    const own = alerts.filter((x) => x.kind === 'defect-rate' && x.slice[a.dim] === a.value && x.detected_ts > a.startBucket * B);
    const detected = own.length ? Math.min(...own.map((x) => x.detected_ts)) : (a.lastBucket + 1) * B;
    alerts.push({
      kind: 'attribution',
      slice,
      start_ts: a.startBucket * B,
      detected_ts: detected,
      statistic: 'z',
      value: a.z,
      limit: normalQuantile(1 - q / m),
      rule: `BH q=${q}`,
      message: `${sliceLabel(slice)} from ${iso(a.startBucket * B)}: defect rate ${(a.rate * 100).toFixed(1)}% against ${(a.restRate * 100).toFixed(1)}% for the rest at the same time${
        a.round > 1
          ? ` (after taking out ${b.attributions
              .slice(0, a.round - 1)
              .map((x) => `${x.dim} ${x.value}`)
              .join(', ')})`
          : ''
      }`,
      detail: { p: a.p, rate: a.rate, rest_rate: a.restRate, events: a.n, round: a.round },
    });
  }
  const tests = b.drift.reduce((s, d) => s + d.points.length, 0) || 1;
  const alpha = q / tests;
  for (const d of b.drift) {
    const f = flagged(d, alpha);
    if (!f.length) continue;
    const first = f[0]!;
    const kind = d.feature === 'score' || d.feature === 'class-mix' ? 'output-drift' : 'input-drift';
    const statistic = d.feature === 'class-mix' ? 'chi-square' : 'ks';
    alerts.push({
      kind,
      slice: { machine: d.machine },
      start_ts: first.bucket * B,
      detected_ts: (first.bucket + 1) * B,
      statistic,
      value: first.stat,
      limit: alpha,
      rule: `p < ${alpha.toExponential(2)} (Bonferroni over ${tests} tests) and PSI > ${PSI_FLOOR}`,
      message: `machine ${d.machine}: ${d.feature} distribution shifted from ${iso(first.bucket * B)} (PSI ${first.psi.toFixed(2)}, ${statistic} p ${first.p.toExponential(1)})`,
      detail: { feature: d.feature, psi: first.psi, p: first.p, flagged_buckets: f.length, ...(first.dMax !== undefined ? { ks_d_max: first.dMax } : {}) },
    });
    // More defect calls shift the class mix too: that is the attributed slice showing, not a new finding.
    if (d.feature === 'class-mix') {
      const ex = b.attributions.find(
        (a) => first.bucket >= a.startBucket && cells.some((x) => x.bucket === first.bucket && x.machine === d.machine && x[a.dim] === a.value),
      );
      if (ex) alerts[alerts.length - 1]!.explained_by = { [ex.dim]: ex.value };
    }
  }
  const refRows = b.performance.filter((r) => r.period === 'reference' && r.dim === 'machine' && r.truthN > 0);
  const refN = refRows.reduce((s, r) => s + r.truthN, 0);
  const refAcc = refN ? refRows.reduce((s, r) => s + (r.accuracy ?? 0) * r.truthN, 0) / refN : null;
  if (refAcc !== null) {
    const mons = b.performance.filter((r) => r.period === 'monitoring' && r.truthN >= 30);
    for (const r of mons) {
      const hi = wilson(Math.round((r.accuracy ?? 0) * r.truthN), r.truthN, 1 - q / mons.length)[1];
      if (hi >= refAcc) continue;
      alerts.push({
        kind: 'accuracy',
        slice: { [r.dim]: r.value },
        start_ts: b.referenceUntil,
        detected_ts: b.range.max,
        statistic: 'accuracy',
        value: r.accuracy ?? 0,
        limit: refAcc,
        rule: `Wilson upper bound at ${(100 * (1 - q / mons.length)).toFixed(2)}% below the reference accuracy`,
        message: `${r.dim} ${r.value}: audited accuracy ${((r.accuracy ?? 0) * 100).toFixed(1)}% (upper bound ${(hi * 100).toFixed(1)}%) against ${(refAcc * 100).toFixed(1)}% in the reference`,
        detail: { audited: r.truthN },
      });
    }
  }
  explainByMachines(alerts, cells, B);
  const order: Record<Alert['kind'], number> = { attribution: 0, 'input-drift': 1, 'output-drift': 2, accuracy: 3, confidence: 4, 'defect-rate': 5 };
  return alerts.sort((x, y) => order[x.kind] - order[y.kind] || x.start_ts - y.start_ts);
}

/**
 * A machine whose confidence or audited accuracy fell drags down every batch, line and material it
 * ran: those alerts name the machine in `explained_by` when it shares their events.
 */
function explainByMachines(alerts: Alert[], cells: readonly Cell[], B: number): void {
  for (const kind of ['confidence', 'accuracy'] as const) {
    const machines = alerts.filter((a) => a.kind === kind && a.slice.machine !== undefined && !a.explained_by);
    for (const a of alerts) {
      const [dim, value] = Object.entries(a.slice)[0]!;
      if (a.kind !== kind || dim === 'machine' || a.explained_by) continue;
      const at = Math.floor(a.detected_ts / B) - 1;
      const m = machines.find((x) =>
        cells.some(
          (c) => c.machine === x.slice.machine && c[dim as 'batch'] === value && c.bucket * B >= x.start_ts && (kind === 'accuracy' || c.bucket === at),
        ),
      );
      if (m) a.explained_by = { machine: m.slice.machine! };
    }
  }
}
