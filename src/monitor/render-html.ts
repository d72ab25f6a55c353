// The dashboard: one self-contained HTML page (inline SVG and CSS, no script, no network) with the
// alerts, a p-chart per machine and per batch with alarms marked, drift plots per machine and a table
// of slices. `renderMonitorHtml` is exported so serve can show it live at /monitor.

import { sliceLabel, type Alert } from './alert.js';
import type { Analysis } from './analyze.js';
import type { SliceChart } from './charts.js';
import type { DriftSeries } from './drift.js';
import { esc, lineChart, type Mark } from './svg-chart.js';

const iso = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
const hm = (t: number) => new Date(t).toISOString().slice(11, 16);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function pChart(a: Analysis, c: SliceChart): string {
  const B = a.bucketMs;
  const pts = c.points.map((p) => ({ x: p.bucket * B, p }));
  const marks: Mark[] = pts
    .filter((q) => q.p.rule)
    .map((q) => ({ x: q.x, y: q.p.p, cls: 'alarm', title: `${q.p.rule} at ${iso(q.x)}: ${pct(q.p.p)} of ${q.p.n}` }));
  const mon = c.points.filter((p) => !p.reference);
  const vlines = [
    ...(c.defectCusum.alarm >= 0
      ? [{ x: mon[c.defectCusum.alarm]!.bucket * B, title: `CUSUM alarm at ${iso(mon[c.defectCusum.alarm]!.bucket * B)}`, cls: 'vcusum' }]
      : []),
    ...(c.defectEwma.alarm >= 0
      ? [{ x: mon[c.defectEwma.alarm]!.bucket * B, title: `EWMA alarm at ${iso(mon[c.defectEwma.alarm]!.bucket * B)}`, cls: 'vewma' }]
      : []),
  ];
  return lineChart(
    [
      { name: 'upper control limit', cls: 'limit', step: true, points: pts.map((q) => ({ x: q.x, y: q.p.ucl })) },
      { name: 'centre line', cls: 'center', points: pts.map((q) => ({ x: q.x, y: c.center })) },
      { name: 'defect rate', cls: 'series', points: pts.map((q) => ({ x: q.x, y: q.p.p })) },
    ],
    marks,
    {
      id: `chart-${c.dim}-${c.value}`,
      title: `${c.dim} ${c.value}: defect rate (p-chart)`,
      yLabel: 'defect rate',
      refUntil: a.referenceUntil,
      xFormat: hm,
      yFormat: pct,
      vlines,
    },
  );
}

function driftChart(a: Analysis, machine: string, series: DriftSeries[]): string {
  const B = a.bucketMs;
  const cls = ['s0', 's1', 's2', 's3', 's4', 's5'];
  return lineChart(
    [
      ...series.map((s, i) => ({
        name: `PSI of ${s.feature}`,
        cls: `drift ${cls[i % cls.length]}`,
        points: s.points.map((p) => ({ x: p.bucket * B, y: Math.min(p.psi, 3) })),
      })),
      { name: 'PSI 0.1', cls: 'limit', points: [a.referenceUntil, a.range.max].map((x) => ({ x, y: 0.1 })) },
    ],
    [],
    {
      id: `drift-${machine}`,
      title: `machine ${machine}: PSI against its reference (${series.map((s, i) => `${s.feature}=${cls[i % cls.length]}`).join(', ')})`,
      yLabel: 'PSI (capped at 3)',
      refUntil: a.referenceUntil,
      xFormat: hm,
      yFormat: (v) => v.toFixed(2),
    },
  );
}

function alertRows(alerts: Alert[]): string {
  if (!alerts.length) return '<p>No alerts.</p>';
  const rows = alerts.map(
    (x) =>
      `<tr class="${x.explained_by ? 'explained' : ''}"><td>${esc(x.kind)}</td><td>${esc(sliceLabel(x.slice))}</td><td>${iso(x.start_ts)}</td><td>${iso(x.detected_ts)}</td><td>${esc(x.rule)}</td><td>${esc(x.message)}${x.explained_by ? ` <em>(explained by ${esc(sliceLabel(x.explained_by))})</em>` : ''}</td></tr>`,
  );
  return `<table id="alerts"><tr><th>kind</th><th>slice</th><th>from</th><th>seen</th><th>rule</th><th>what</th></tr>${rows.join('')}</table>`;
}

function sliceTable(a: Analysis): string {
  const rows = a.charts.map((c) => {
    const ref = c.points.filter((p) => p.reference);
    const mon = c.points.filter((p) => !p.reference);
    const rate = (ps: typeof ref) => (ps.length ? pct(ps.reduce((s, p) => s + p.k, 0) / ps.reduce((s, p) => s + p.n, 0)) : '—');
    const perf = a.performance.find((r) => r.dim === c.dim && r.value === c.value && r.period === 'monitoring');
    const n = a.alerts.filter((x) => x.slice[c.dim] === c.value && !x.explained_by).length;
    return `<tr><td>${esc(c.dim)}</td><td>${esc(c.value)}</td><td>${c.points.reduce((s, p) => s + p.n, 0)}</td><td>${rate(ref)}</td><td>${rate(mon)}</td><td>${perf?.estimatedAccuracy != null ? pct(perf.estimatedAccuracy) : '—'}</td><td>${perf?.accuracy != null && perf.accuracyCi ? `${pct(perf.accuracy)} (${pct(perf.accuracyCi[0])}–${pct(perf.accuracyCi[1])}, n=${perf.truthN})` : '—'}</td><td class="${n ? 'bad' : ''}">${n}</td></tr>`;
  });
  return `<table id="slices"><tr><th>dimension</th><th>slice</th><th>events</th><th>defects (reference)</th><th>defects (since)</th><th>est. accuracy (mean confidence)</th><th>audited accuracy (95% Wilson)</th><th>alerts</th></tr>${rows.join('')}</table>`;
}

const CSS = `body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;font-size:12px}tr.explained{color:#888}td.bad{color:#b00;font-weight:bold}
.grid{display:flex;flex-wrap:wrap;gap:8px}.chart{background:#fff;border:1px solid #ddd}.chart .grid{stroke:#eee}.tick{font-size:10px;fill:#666}.axis{font-size:10px;fill:#444}.ctitle{font-size:12px;fill:#222}
.ref{fill:#f0f4ff}.series{fill:none;stroke:#1f5fbf;stroke-width:1.5}.limit{fill:none;stroke:#c33;stroke-dasharray:4 3}.center{fill:none;stroke:#888;stroke-dasharray:2 2}
.alarm{fill:#d00}.vcusum{stroke:#e80;stroke-width:2}.vewma{stroke:#a0a;stroke-width:1.5;stroke-dasharray:3 2}
.drift{fill:none;stroke-width:1.5}.s0{stroke:#1f5fbf}.s1{stroke:#2a2}.s2{stroke:#e80}.s3{stroke:#a0a}.s4{stroke:#0aa}.s5{stroke:#555}`;

/** The whole dashboard as one HTML string. */
export function renderMonitorHtml(a: Analysis): string {
  const machines = a.charts.filter((c) => c.dim === 'machine');
  const batches = a.charts.filter((c) => c.dim === 'batch');
  const primary = a.alerts.filter((x) => !x.explained_by);
  const driftByMachine = machines.map((m) =>
    driftChart(
      a,
      m.value,
      a.drift.filter((d) => d.machine === m.value),
    ),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>edgefit monitor</title><style>${CSS}</style></head><body>
<h1>Line monitor</h1>
<p>${a.range.events} events from ${iso(a.range.min)} to ${iso(a.range.max)} in ${esc(a.db)}; reference window until ${iso(a.referenceUntil)} (shaded); ${a.bucketMs / 60_000}-minute subgroups.
Run rules ${esc(a.ruleSet.rules.join('+'))}: in-control false alarms ${(a.ruleSet.falseAlarmRate * 100).toFixed(2)}% per point (ARL ${a.ruleSet.arl.toFixed(0)}). Red dots: run-rule alarms; orange line: CUSUM alarm; purple dashes: EWMA alarm.</p>
<h2>Alerts (${primary.length}, and ${a.alerts.length - primary.length} chart alarms explained by them)</h2>${alertRows(a.alerts)}
<h2>Machines</h2><div class="grid" id="machines">${machines.map((c) => pChart(a, c)).join('')}</div>
<h2>Batches</h2><div class="grid" id="batches">${batches.map((c) => pChart(a, c)).join('')}</div>
<h2>Input and output drift per machine</h2><div class="grid" id="drift">${driftByMachine.join('')}</div>
<h2>Slices</h2>${sliceTable(a)}
</body></html>
`;
}
