// report.html: one self-contained page (inline CSS and SVG, no scripts, no network) that lays out the
// evidence of an optimize run: the recommendation and how sure it is, the Pareto plot, latency
// distributions, per-node sensitivity, and every candidate with why it was or was not chosen.

import { lowerIsBetter } from '../search/constraints.js';
import { paretoFront, toPoint } from '../search/pareto.js';
import type { CandidateResult, Measurement, Summary } from '../search/types.js';
import { chainLabel, configText } from './chain-text.js';
import { ladderHtml } from './ladder-html.js';
import { hasChains, lineageTree } from './lineage.js';
import { LINEAGE_CSS, lineageHtml } from './lineage-html.js';
import { bars, distributions, esc, scatter, type ScatterPoint } from './svg.js';
import { nextSteps } from './next-steps.js';
import { stageTimeHtml } from './stage-time.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1b1f24;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.muted{color:#57606a}.rec{background:#f0f7ff;border:1px solid #9cc3ff;border-radius:6px;padding:12px 16px}
.rec.none{background:#fff5f5;border-color:#ffaeae}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e5e8eb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.chosen td{background:#e9f7ec}.k-chosen{color:#1a7f37;font-weight:600}.k-failed{color:#cf222e}.k-rejected,.k-dropped{color:#9a6700}.k-no-change{color:#57606a}
pre{background:#f6f8fa;padding:8px 12px;border-radius:4px;overflow-x:auto}
.chart{max-width:100%;height:auto;background:#fff;border:1px solid #e5e8eb;border-radius:4px}
.chart .grid{stroke:#eef0f2}.chart .tick{font-size:11px;fill:#57606a}.chart .axis{font-size:12px;fill:#1b1f24}
.chart .budget{stroke:#cf222e;stroke-dasharray:5 4;stroke-width:1.5}.chart .front{fill:none;stroke:#0969da;stroke-width:1.5;stroke-dasharray:3 3}
.chart .err{stroke:#8c959f;stroke-width:1.2}.chart .pt{stroke:#fff;stroke-width:1.5}.chart .pt.clipped{stroke:#cf222e;stroke-dasharray:2 2}.chart .ptlabel{font-size:11px;fill:#1b1f24}
.pt.chosen{fill:#1a7f37}.pt.feasible{fill:#0969da}.pt.rejected,.pt.dropped{fill:#bf8700}.pt.baseline{fill:#6e7781}
.dist .box{fill:#ddf4ff;stroke:#54aeff}.dist .dot{fill:#0969da;opacity:.45}.dist.chosen .dot{fill:#1a7f37}.dist .p50,.dist .p99{stroke:#1b1f24;stroke-width:1.5}
.rowlabel{font-size:11px;fill:#1b1f24}.bar rect{fill:#bf8700}.bar.neg rect{fill:#8c959f}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f6f8fa;padding:1px 4px;border-radius:3px}
`;

const n2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(2));
const n4 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(4));
const mb = (v: number | undefined) => (v === undefined ? '—' : `${(v / 1e6).toFixed(2)} MB`);
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

function best(r: CandidateResult): Measurement | undefined {
  return r.full ?? r.screen;
}

function passList(r: CandidateResult): string {
  const ps = r.config.passes.map((p) => {
    const params = Object.entries(p.params).filter(([, v]) => v !== undefined);
    return `${p.name}${params.length ? `(${params.map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.length} names]` : String(v)}`).join(', ')})` : ''}`;
  });
  const s = r.config.session;
  const sess = [
    s.graphOptimizationLevel !== 'all' ? `opt=${s.graphOptimizationLevel}` : '',
    s.disabledOptimizers.length ? `disable ${s.disabledOptimizers.join(',')}` : '',
  ].filter(Boolean);
  return [...(ps.length ? ps : ['(source as is)']), ...sess.map((x) => `ORT ${x}`)].join(' → ');
}

function verdictText(r: CandidateResult, summary: Summary): { kind: string; text: string } {
  if (r.id === summary.baseline && r.verdict?.kind !== 'chosen')
    return { kind: r.verdict?.kind ?? 'baseline', text: `baseline (the source model). ${r.verdict && 'why' in r.verdict ? r.verdict.why : ''}` };
  if (!r.verdict) return { kind: 'dropped', text: 'not evaluated' };
  if (r.verdict.kind === 'chosen')
    return { kind: 'chosen', text: 'chosen: meets every constraint with the best objective (statistical ties broken by quality, then size)' };
  return { kind: r.verdict.kind, text: `${r.verdict.kind}: ${r.verdict.why}` };
}

export function renderReport(s: Summary): string {
  const byId = new Map(s.candidates.map((c) => [c.id, c]));
  const chosen = s.chosen ? byId.get(s.chosen) : undefined;
  const base = byId.get(s.baseline);
  const obj = s.objective;
  const measured = s.candidates.filter((c) => c.status === 'ok' && !c.identicalTo && best(c));
  const cls = (c: CandidateResult) => (c.id === s.chosen ? 'chosen' : c.id === s.baseline ? 'baseline' : (c.verdict?.kind ?? 'dropped'));
  const qName = base && best(base) ? best(base)!.quality.primary.name : 'quality';

  // Recommendation.
  const rec: string[] = [];
  if (chosen && base) {
    const c = best(chosen)!;
    const b = best(base)!;
    rec.push(
      `<div class="rec"><p><b>Recommendation: <code>${esc(chosen.config.label)}</code></b> <span class="muted">(${esc(chosen.id)})</span> — ${esc(passList(chosen))}</p>`,
    );
    rec.push('<table><tr><th></th><th>p50 (ms)</th><th>p99 (ms)</th><th>' + esc(qName) + '</th><th>size</th><th>peak RSS</th></tr>');
    for (const [name, r, m] of [
      ['baseline', base, b],
      ['chosen', chosen, c],
    ] as const) {
      rec.push(
        `<tr><td>${name}</td><td class="num">${n2(m.latency.p50)} [${n2(m.latency.ci.p50?.[0])}, ${n2(m.latency.ci.p50?.[1])}]</td><td class="num">${n2(m.latency.p99)} [${n2(m.latency.ci.p99?.[0])}, ${n2(m.latency.ci.p99?.[1])}]</td><td class="num">${n4(m.quality.primary.value)} [${n4(m.quality.primary.ci[0])}, ${n4(m.quality.primary.ci[1])}]</td><td class="num">${mb(r.sizeBytes)}</td><td class="num">${mb(m.peakRssBytes)}</td></tr>`,
      );
    }
    rec.push('</table>');
    const v = s.vsBaseline;
    if (v)
      rec.push(
        `<p id="vs-baseline">Against the source measured in the same interleaved rounds${v.rounds ? ` (${v.rounds})` : ''}: ${esc(v.stat)} ${n2(v.baselineMs)} → ${n2(v.chosenMs)} ms (<b>${v.speedup.toFixed(2)}×</b>), difference ${n2(v.diffMs)} ms (95% interval ${n2(v.ci[0])} to ${n2(v.ci[1])} ms).</p>`,
      );
    const cmp = s.comparison;
    if (cmp) {
      const other = byId.get(cmp.against);
      const who = other
        ? `${other.id === s.baseline ? 'the baseline (no other candidate met every constraint)' : `the runner-up <code>${esc(other.config.label)}</code>`}`
        : esc(cmp.against);
      rec.push(
        `<p id="confidence">Against ${who}: ${obj} differs by <b>${n2(cmp.latency.diffMs)} ms</b> (95% bootstrap interval ${n2(cmp.latency.ci[0])} to ${n2(cmp.latency.ci[1])} ms); the chosen model is faster in <b>${pct(cmp.latency.pFaster)}</b> of bootstrap rounds.`,
      );
      if (cmp.quality)
        rec.push(
          ` ${esc(qName)} differs by ${n4(cmp.quality.diff)} (paired bootstrap 95% interval ${n4(cmp.quality.ci[0])} to ${n4(cmp.quality.ci[1])}; P(chosen better) ${pct(cmp.quality.pBetter)}).`,
        );
      rec.push('</p>');
    }
    rec.push('</div>');
  } else if (s.notRecommended) {
    rec.push(`<div class="rec none" id="not-recommended"><p><b>No model is recommended:</b> ${esc(s.notRecommended)}.</p></div>`);
  } else {
    rec.push(`<div class="rec none"><p><b>No candidate meets every constraint.</b> The closest:</p><ul>`);
    for (const c of s.closest ?? []) rec.push(`<li><code>${esc(byId.get(c.id)?.config.label ?? c.id)}</code>: misses ${c.misses.map(esc).join('; ')}</li>`);
    rec.push('</ul></div>');
  }

  // How quality was judged, and what to do next.
  const qinfo: string[] = [];
  if (s.quality?.basis === 'random')
    qinfo.push(
      `<p class="rec none" id="random-warning"><b>Quality was measured on random inputs</b> (no --data): agreement on noise is not evidence that a model works on real data.</p>`,
    );
  if (s.quality?.defaultFloor)
    qinfo.push(
      `<p class="muted" id="quality-floor">Quality floor: <code>${esc(s.quality.defaultFloor)}</code> (the default for this output: agreement with the source model).</p>`,
    );
  const next = nextSteps(s, s.chosen ? 'best.onnx' : undefined);
  const nextHtml: string[] = [];
  if (next.node && next.web)
    nextHtml.push(
      `<p>The chosen model is <code>best.onnx</code> in this directory (its manifest: <code>best.manifest.json</code>; every measured model on the Pareto front: <code>ladder.json</code>). Load it in Node:</p><pre><code>${esc(next.node)}</code></pre><p>or in the browser (serve the file at /models/):</p><pre><code>${esc(next.web)}</code></pre>`,
    );
  if (next.noChange.length)
    nextHtml.push(
      `<p id="no-change">Passes that changed nothing (not measured):</p><ul>${next.noChange.map((n) => `<li><code>${esc(n.label)}</code>: ${esc(n.why)}</li>`).join('')}</ul>`,
    );

  // Pareto plot: the front over every chain, by the search's own rule (the one ladder.json follows);
  // with chains, each dot is labelled by its chain.
  const chains = hasChains(s);
  const points: ScatterPoint[] = measured.map((c) => {
    const m = best(c)!;
    const label = chains ? `${c.config.label}: ${configText(c.config)}` : c.config.label;
    const short = chains ? { short: c.config.passes.length ? chainLabel(c.config.passes) : c.config.label } : {};
    return { id: c.id, label, ...short, x: m.latency[obj], y: m.quality.primary.value, xErr: m.latency.ci[obj], yErr: m.quality.primary.ci, cls: cls(c) };
  });
  const lower = lowerIsBetter(qName);
  const front = paretoFront(measured.map((c) => toPoint(c, obj)).filter((p) => p !== undefined));
  const budgetC = s.constraints.find((c) => c.kind === 'latency' && c.stat === obj);
  const budgetMs = budgetC && (chosen ?? base)?.checks?.find((ch) => ch.constraint === budgetC.text)?.bound;
  const budget = budgetMs !== undefined && Number.isFinite(budgetMs) ? budgetMs : undefined;
  const floorCheck = (chosen ?? base)?.checks?.find((ch) => ch.unit === 'metric' && Number.isFinite(ch.bound));
  const pareto = scatter(points, {
    id: 'pareto',
    xLabel: `${obj} latency (ms)`,
    yLabel: `${qName}${lower ? ' (lower is better)' : ''}`,
    front,
    ...(chains ? { labelMax: 48 } : {}),
    labels: [...new Set([...front, ...(s.chosen ? [s.chosen] : []), s.baseline])],
    ...(budget !== undefined ? { xBudget: budget } : {}),
    ...(floorCheck ? { yFloor: floorCheck.bound } : {}),
  });

  // Latency distributions.
  const dist = distributions(
    measured.map((c) => ({ id: c.id, label: c.config.label, samples: best(c)!.latency.samplesMs, cls: cls(c) })),
    { id: 'latency', ...(budget !== undefined ? { budget } : {}) },
  );

  // Sensitivity.
  const sens = s.sensitivity?.rows.length
    ? `<p class="muted">Each bar: how much ${esc(s.sensitivity.metric)} the model gets back when only this node stays float (all others quantized); grey bars are changes the other way, within measurement noise. Measured for <code>${esc(byId.get(s.sensitivity.for ?? '')?.config.label ?? s.sensitivity.for ?? '')}</code>.</p>` +
      bars(
        s.sensitivity.rows.slice(0, 40).map((r) => ({ label: `${r.node} (${r.opType})`, value: r.delta })),
        { id: 'sensitivity', xLabel: `${s.sensitivity.metric} bought back by keeping the node float (all others quantized)` },
      )
    : `<p class="muted" id="sensitivity-none">No per-node sensitivity in this run: the registered passes did not provide one.</p>`;

  // Table.
  const rows = s.candidates.map((c) => {
    const m = best(c);
    const v = verdictText(c, s);
    return `<tr class="${c.id === s.chosen ? 'chosen' : ''}" data-candidate="${esc(c.id)}"><td><b>${esc(c.config.label)}</b><br><span class="muted">${esc(c.id)}</span></td><td>${esc(passList(c))}</td><td class="num">${m ? m.stage : '—'}</td><td class="num">${n2(m?.latency.p50)}</td><td class="num">${n2(m?.latency.p99)}${m?.latency.ci.p99 ? `<br><span class="muted">[${n2(m.latency.ci.p99[0])}, ${n2(m.latency.ci.p99[1])}]</span>` : ''}</td><td class="num">${n4(m?.quality.primary.value)}${m ? `<br><span class="muted">[${n4(m.quality.primary.ci[0])}, ${n4(m.quality.primary.ci[1])}] n=${m.quality.n}</span>` : ''}</td><td class="num">${mb(c.sizeBytes)}</td><td class="num">${mb(m?.peakRssBytes)}</td><td class="k-${esc(v.kind)}">${esc(v.text)}</td></tr>`;
  });

  const mach = s.machine;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>edgefit optimize report</title><style>${CSS}${LINEAGE_CSS}</style></head>
<body>
<h1>edgefit optimize</h1>
<p class="muted">Source <code>${esc(s.source.path)}</code> (${mb(s.source.sizeBytes)}, sha256 ${esc(s.source.sha256.slice(0, 12))}…), task <code>${esc(s.task.name)}</code> (${s.task.n} items, data ${esc(s.task.dataSha256.slice(0, 12))}…).
Constraints: ${s.constraints.map((c) => `<code>${esc(c.text)}</code>`).join(', ')}; objective: lowest ${esc(obj)}.
Machine: ${esc(mach.cpu)}, ${mach.cores} cores, ${esc(mach.os)}, node ${esc(mach.node)}, ORT ${esc(mach.ort)}, ${mach.threads} thread(s)${s.load ? `; load average ${s.load.start[0]} at the start, ${s.load.end[0]} at the end${Math.max(s.load.start[0]!, s.load.end[0]!) > mach.cores ? ' — <b>other work was running: latency figures are inflated and noisy</b>' : ''}` : ''}.
${s.candidates.length} candidates in ${s.elapsedSec} s of a ${s.timeLimitSec} s limit${s.stoppedEarly ? `; stopped early: ${esc(s.stoppedEarly)}` : ''}.</p>
${s.notes.map((n) => `<p class="muted">${esc(n)}</p>`).join('\n')}
${qinfo.join('\n')}
<h2>Recommendation</h2>
${rec.join('\n')}
${nextHtml.length ? `<h2>Next steps</h2>\n${nextHtml.join('\n')}` : ''}
<h2>Pareto plot: ${esc(obj)} latency against ${esc(qName)}</h2>
<p class="muted">Each dot is a candidate with 95% intervals; the dashed blue line joins the Pareto front${chains ? ' over every chain (the dots on it, the chosen one and the source are labelled by their chain; hover any dot for its chain)' : ''}, the red lines are the budget and the floor. Dots with a dashed red ring lie off the chart and are pinned to its edge (hover for the value).</p>
${pareto}
${chains ? `<h2>Lineage: how each chain got where it is</h2>\n${lineageHtml(lineageTree(s))}` : ''}
<h2>Degrade ladder</h2>
${ladderHtml(s)}
${s.candidates.some((c) => c.stageTimes?.length) ? `<h2>Where the time went</h2>\n${stageTimeHtml(s)}` : ''}
<h2>Latency distributions</h2>
<p class="muted">Every timed run as a dot; the box spans p50 to p99. Screened candidates show their short run, fully measured ones the long run.</p>
${dist}
<h2>Per-node sensitivity</h2>
${sens}
<h2>Candidates</h2>
<table id="candidates"><tr><th>candidate</th><th>passes</th><th>stage</th><th>p50 ms</th><th>p99 ms</th><th>${esc(qName)}</th><th>size</th><th>peak RSS</th><th>verdict</th></tr>
${rows.join('\n')}
</table>
<p class="muted">Produced by <code>edgefit optimize</code>; every figure comes from candidates/&lt;id&gt;/result.json in this directory.</p>
</body></html>
`;
}
