// The degrade ladder in the report: the rungs `buildLadder` writes to ladder.json (the Pareto-optimal
// models, most accurate first, fastest last), with their p50/p99 and quality.

import { buildLadder } from '../search/ladder.js';
import type { Summary } from '../search/types.js';
import { configText } from './chain-text.js';
import { esc } from './svg.js';

const n2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '—');
const n4 = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : '—');

/** The ladder as the run writes it; model paths as they lie in the run directory. */
export function reportLadder(s: Summary) {
  return buildLadder(s, '.', (id) => `candidates/${id}/model.onnx`);
}

export function ladderHtml(s: Summary): string {
  const ladder = reportLadder(s);
  if (!ladder.rungs.length) return `<p class="muted" id="ladder-none">No measured candidate: the ladder is empty.</p>`;
  const byId = new Map(s.candidates.map((c) => [c.id, c]));
  const rows = ladder.rungs.map((r, i) => {
    const c = byId.get(r.id);
    const chain = c ? configText(c.config) : '';
    return `<tr data-rung="${esc(r.id)}"${r.id === s.chosen ? ' class="chosen"' : ''}><td class="num">${i + 1}</td><td><b>${esc(r.label)}</b><br><span class="muted">${esc(chain)}</span></td><td class="num">${n2(r.latency.p50)}</td><td class="num">${n2(r.latency.p99)}</td><td class="num">${n4(r.quality.value)}<br><span class="muted">[${n4(r.quality.ci[0])}, ${n4(r.quality.ci[1])}]</span></td><td class="num">${(r.sizeBytes / 1e6).toFixed(2)} MB</td><td>${r.feasible ? 'yes' : 'no'}</td><td>${r.stage}</td><td><code>${esc(r.path)}</code></td></tr>`;
  });
  const q = ladder.rungs[0]!.quality.name;
  return (
    `<p class="muted">The Pareto-optimal models, most accurate first and fastest last (<code>ladder.json</code>): <code>serve</code> steps down this list under load. Latency is the candidate's own measurement (the full one where it has one, else its screening).</p>` +
    `<table id="ladder"><tr><th>#</th><th>model</th><th>p50 ms</th><th>p99 ms</th><th>${esc(q)}</th><th>size</th><th>meets every constraint</th><th>measured</th><th>file</th></tr>${rows.join('')}</table>`
  );
}
