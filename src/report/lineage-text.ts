// The lineage tree as plain text for the terminal: one line per candidate, drawn with box characters
// under the stage(s) it added, then its own figures (the objective statistic, whether screened or
// measured in full, and the primary metric), what its stage took to build, and its verdict when it is
// not simply kept. `optimize` prints it at the end of a run with chains; report.html has the full form.

import type { Summary } from '../search/types.js';
import { durationText, hasChains, lineageTree, type LineageNode } from './lineage.js';

function figuresText(n: LineageNode): string {
  const f = n.figures;
  if (!f) return 'not measured';
  const where = f.stage === 'full' ? 'full' : 'screened';
  return `${f.stat} ${f.ms.toFixed(2).padStart(6)} ms (${where})  ${f.metric} ${f.quality.toFixed(4)}`;
}

function buildText(n: LineageNode): string {
  const b = n.edge?.build ?? [];
  if (b.length && b.every((x) => x?.cached)) return 'cached';
  if (!n.edge?.buildMs) return '';
  const resumed = b.find((x) => x?.resumedFromStep !== undefined)?.resumedFromStep;
  return `built ${durationText(n.edge.buildMs)}${resumed !== undefined ? `, resumed at step ${resumed}` : ''}`;
}

function verdictText(n: LineageNode): string {
  if (n.verdict === 'chosen') return 'CHOSEN';
  if (n.verdict === 'baseline' || n.verdict === 'feasible') return '';
  const why = n.why ? `: ${n.why.length > 48 ? `${n.why.slice(0, 47)}…` : n.why}` : '';
  return `${n.verdict}${why}`;
}

interface Row {
  head: string;
  rest: string;
}

function rows(n: LineageNode, prefix: string, last: boolean, out: Row[]): void {
  const branch = prefix === '' && !n.edge ? '' : last ? '└─ ' : '├─ ';
  const name = n.edge ? `+ ${n.edge.text}` : n.label;
  const rest = [figuresText(n), buildText(n), verdictText(n)].filter(Boolean).join('  ');
  out.push({ head: `${prefix}${branch}${name}`, rest });
  const childPrefix = n.edge ? `${prefix}${last ? '   ' : '│  '}` : prefix;
  for (const [i, c] of n.children.entries()) rows(c, childPrefix, i === n.children.length - 1, out);
}

/** The tree as lines, its figures aligned in one column after the widest chain (capped at `width`). */
export function lineageText(root: LineageNode, width = 72): string[] {
  const out: Row[] = [];
  rows(root, '', true, out);
  const col = Math.min(width, Math.max(...out.map((r) => [...r.head].length)));
  return out.map((r) => {
    const len = [...r.head].length;
    return len > col ? `${r.head}\n${' '.repeat(col + 2)}${r.rest}` : `${r.head}${' '.repeat(col - len + 2)}${r.rest}`;
  });
}

/** A run's tree, indented for the end of `optimize`; nothing for a run without chains. */
export function runLineageText(s: Summary): string[] {
  if (!hasChains(s)) return [];
  return [
    'Lineage (the stage each line adds; its own figures, build time and verdict; report.html has the intervals):',
    ...lineageText(lineageTree(s)).map((l) => `  ${l.replace(/\n/g, '\n  ')}`),
  ];
}
