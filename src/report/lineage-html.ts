// The lineage tree as nested HTML lists: readable without scripts, and laid out by the browser, so no
// label can sit on another. Each node names the stage(s) it added, what that bought in latency and cost
// in quality relative to its parent (with both ends' intervals), and the stage's build time.

import { durationText, type EndFigures, type LineageEdge, type LineageNode, type StageTime } from './lineage.js';
import { esc } from './svg.js';

const n2 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(2));
const n4 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(4));
const signed = (v: number, f: (x: number) => string) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${f(Math.abs(v))}`;
const ci = (c: [number, number] | undefined, f: (x: number) => string) => (c ? ` <span class="muted">[${f(c[0])}, ${f(c[1])}]</span>` : '');
const screened = (e: EndFigures) => (e.stage === 'screen' ? ' <span class="muted">(screen)</span>' : '');

function latencyText(l: NonNullable<LineageEdge['latency']>): string {
  const how = l.speedup >= 1 ? `${l.speedup.toFixed(2)}× faster` : `${(1 / l.speedup).toFixed(2)}× slower`;
  return (
    `<span class="lat">${esc(l.stat)} ${n2(l.parent.ms)}${ci(l.parent.msCi, n2)}${screened(l.parent)} → ${n2(l.child.ms)}${ci(l.child.msCi, n2)}${screened(l.child)} ms: ` +
    `<b>${signed(l.deltaMs, n2)} ms, ${how}</b></span>`
  );
}

function qualityText(q: NonNullable<LineageEdge['quality']>): string {
  const word = q.delta === 0 ? 'unchanged' : q.worse ? 'worse' : 'better';
  return (
    `<span class="qual">${esc(q.metric)} ${n4(q.parent.value)}${ci(q.parent.ci, n4)} → ${n4(q.child.value)}${ci(q.child.ci, n4)}: ` +
    `<b class="${q.worse ? 'worse' : 'better'}">${signed(q.delta, n4)}, ${word}</b></span>`
  );
}

function buildText(steps: LineageEdge['steps'], build: (StageTime | undefined)[]): string {
  const parts = build
    .map((b, i) => {
      if (!b) return '';
      const name = esc(steps[i]?.name ?? b.stage);
      if (b.cached) return `${name} from the stage cache`;
      return `${name} built in ${durationText(b.wallMs)}${b.resumedFromStep !== undefined ? ` (resumed from step ${b.resumedFromStep})` : ''}`;
    })
    .filter(Boolean);
  return parts.length ? `<span class="build">${parts.join('; ')}</span>` : '';
}

function verdictText(n: LineageNode): string {
  return `<span class="verdict k-${esc(n.verdict)}">${esc(n.verdict)}${n.why ? `: ${esc(n.why)}` : ''}</span>`;
}

function nodeHtml(n: LineageNode): string {
  const e = n.edge;
  const head = e
    ? `<span class="stage">+ ${esc(e.text)}</span> <span class="nlabel">${esc(n.label)}</span> <span class="muted">${esc(n.id)}</span>`
    : `<span class="nlabel">${esc(n.label)}</span> <span class="muted">${esc(n.id)}: the source model</span>`;
  const lines = [
    e?.latency ? latencyText(e.latency) : '',
    e?.quality ? qualityText(e.quality) : '',
    e ? buildText(e.steps, e.build) : ownFigures(n),
    verdictText(n),
  ].filter(Boolean);
  const kids = n.children.length ? `<ul>${n.children.map(nodeHtml).join('')}</ul>` : '';
  const cls = ['node', n.greyed ? 'greyed' : '', n.verdict === 'chosen' ? 'chosen' : ''].filter(Boolean).join(' ');
  return `<li class="${cls}" data-node="${esc(n.id)}" data-via="${n.via}"><div class="nd" title="${esc(n.chain)}"><div class="nhead">${head}</div><div class="nfig">${lines.join('<br>')}</div></div>${kids}</li>`;
}

/** A node's own figures (the root's: the line the rest of the tree is read against). */
function ownFigures(n: LineageNode): string {
  const f = n.figures;
  return f
    ? `<span class="lat">${esc(f.stat)} ${n2(f.ms)} ms${ci(f.msCi, n2)}${screened(f)}, ${esc(f.metric)} ${n4(f.quality)}${ci(f.qualityCi, n4)}</span>`
    : '';
}

export function lineageHtml(root: LineageNode): string {
  return (
    `<p class="muted">Each chain hangs under the chain it grew from. Each node: the stage(s) it added (+), the latency that bought and the quality it cost against its parent, with both ends' 95% intervals, and the stage's build time. Greyed nodes were not measured in full: failed, dropped, or identical to another model. Each end is that candidate's own measurement, not taken in the same rounds as its parent's: a difference inside both intervals is not evidence of a change.</p>` +
    `<ul class="lineage" id="lineage">${nodeHtml(root)}</ul>`
  );
}

export const LINEAGE_CSS = `
.lineage,.lineage ul{list-style:none;margin:0;padding:0}.lineage ul{margin-left:14px;padding-left:16px;border-left:1px solid #d0d7de}
.lineage li{margin:6px 0}.lineage .nd{display:inline-block;border:1px solid #d0d7de;border-radius:6px;padding:4px 8px;background:#fff;max-width:100%}
.lineage .stage{font-weight:600;color:#0550ae}.lineage .nlabel{font-weight:600}.lineage .nfig{font-size:12px}
.lineage .chosen>.nd{border-color:#1a7f37;background:#e9f7ec}.lineage .greyed>.nd{opacity:.55;background:#f6f8fa}
.lineage .worse{color:#9a6700}.lineage .better{color:#1a7f37}.lineage .verdict{font-size:12px}
`;
