// Human-readable rendering of an EvalResult: the primary metric with its interval, the other metrics,
// per-class precision/recall, the confusion matrix, a few wrong predictions and the skipped items.

import type { EvalResult } from './evaluate.js';

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : 'n/a');
const ci = (c: [number, number]) => `[${pct(c[0])}, ${pct(c[1])}]`;

export function formatEval(r: EvalResult): string {
  const lines: string[] = [];
  lines.push(`${r.primary.name}: ${pct(r.primary.value)}  95% CI ${ci(r.primary.ci)}  (${r.primary.higherIsBetter ? 'higher' : 'lower'} is better; n=${r.n})`);
  lines.push('');
  const width = Math.max(...Object.keys(r.metrics).map((k) => k.length), 8);
  for (const [name, m] of Object.entries(r.metrics)) if (!name.includes(':')) lines.push(`  ${name.padEnd(width)}  ${pct(m.value).padStart(8)}  ${ci(m.ci)}`);
  if (r.perClass) {
    lines.push('', `  ${'class'.padEnd(12)} ${'support'.padStart(7)}  ${'precision'.padStart(9)}  ${'recall'.padStart(8)}  recall 95% CI`);
    for (const [name, s] of Object.entries(r.perClass))
      lines.push(
        `  ${name.padEnd(12)} ${String(s.support).padStart(7)}  ${pct(s.precision.value).padStart(9)}  ${pct(s.recall.value).padStart(8)}  ${ci(s.recall.ci)}`,
      );
  }
  if (r.confusion && r.confusion.classes.length <= 12) {
    const cw = Math.max(5, ...r.confusion.classes.map((c) => c.length)) + 1;
    lines.push('', `  confusion (rows: true, columns: predicted)`, `  ${''.padEnd(cw)}${r.confusion.classes.map((c) => c.padStart(cw)).join('')}`);
    r.confusion.matrix.forEach((row, i) => void lines.push(`  ${r.confusion!.classes[i]!.padEnd(cw)}${row.map((v) => String(v).padStart(cw)).join('')}`));
  }
  if (r.examples.length) {
    lines.push('', `  wrong predictions (first ${r.examples.length}):`);
    for (const e of r.examples) lines.push(`    ${e.id.padEnd(16)} expected ${JSON.stringify(e.expected)}  got ${JSON.stringify(e.got)}`);
  }
  if (r.skipped.length) {
    lines.push('', `  skipped ${r.skipped.length} bad item${r.skipped.length === 1 ? '' : 's'}:`);
    for (const s of r.skipped.slice(0, 20)) lines.push(`    ${s.id}: ${s.reason}`);
    if (r.skipped.length > 20) lines.push(`    … and ${r.skipped.length - 20} more (see --json)`);
  }
  for (const n of r.notes) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}
