// The verdict on each candidate once the search is over (chosen, feasible, rejected, dropped, no
// change, failed, each with why) and the comparison of the choice with its runner-up.

import { describeCheck, lowerIsBetter, type LatencyStat } from '../constraints.js';
import { bestMeasurement, type Choice } from '../pareto.js';
import { compareLatency } from '../stats.js';
import { compareCandidates } from '../../eval/evaluate.js';
import type { CandidateResult, Comparison } from '../types.js';

export function assignVerdict(r: CandidateResult, choice: Choice, dropped: Map<string, string>, objective: LatencyStat, baselineId: string): void {
  r.checks = choice.checks.get(r.id);
  if (r.identicalTo) r.verdict = { kind: 'no-change', why: noChangeWhy(r, r.identicalTo, r.identicalTo === baselineId) };
  else if (r.status === 'failed') r.verdict = { kind: 'failed', why: firstLine(r.error ?? 'failed') };
  else if (choice.chosen?.id === r.id) r.verdict = { kind: 'chosen' };
  else if (dropped.has(r.id) && !r.full) r.verdict = { kind: 'dropped', why: dropped.get(r.id)! };
  else if (choice.feasible.some((f) => f.id === r.id)) {
    const c = bestMeasurement(choice.chosen!)!;
    const m = bestMeasurement(r)!;
    r.verdict =
      m.latency[objective] > c.latency[objective]
        ? {
            kind: 'feasible',
            why: `meets every constraint but ${objective} ${m.latency[objective].toFixed(2)} ms > chosen ${c.latency[objective].toFixed(2)} ms`,
          }
        : {
            kind: 'feasible',
            why: `meets every constraint; ${objective} ${m.latency[objective].toFixed(2)} ms is statistically tied with the chosen ${c.latency[objective].toFixed(2)} ms, which has the better ${c.quality.primary.name} or size`,
          };
  } else if (!bestMeasurement(r)) r.verdict = { kind: 'dropped', why: 'not measured (time limit)' };
  else {
    const misses = (r.checks ?? []).filter((c) => !c.ok).map(describeCheck);
    if (misses.length) r.verdict = { kind: 'rejected', why: misses.join('; ') };
    else
      r.verdict = {
        kind: 'dropped',
        why: `screened only: it met the constraints at screening (${objective} ${r.screen!.latency[objective].toFixed(2)} ms), but full measurements stopped once ${choice.feasible.length} feasible candidates were known${choice.feasible.length ? '' : ' (time limit)'}`,
      };
  }
}

export function compare(a: CandidateResult, b: CandidateResult | undefined, objective: LatencyStat): Comparison | undefined {
  if (!b) return undefined;
  const ma = bestMeasurement(a)!;
  const mb = bestMeasurement(b)!;
  const latency = { stat: objective, ...compareLatency(ma.latency.samplesMs, mb.latency.samplesMs, objective) };
  const pa = ma.quality.perItem;
  const pb = mb.quality.perItem;
  let quality: Comparison['quality'];
  if (pa.length && pa.length === pb.length) {
    const q = compareCandidates(pa, pb, {
      ...(ma.quality.weights ? { weights: ma.quality.weights } : {}),
      higherIsBetter: ma.quality.higherIsBetter ?? !lowerIsBetter(ma.quality.primary.name),
    });
    quality = { diff: q.diff, ci: q.ci, pBetter: q.pBetter };
  }
  return { against: b.id, latency, quality };
}

/** "no change: byte-identical to X; quantize-dynamic left 3 nodes alone (Conv: not a MatMul ×3)". */
export function noChangeWhy(r: CandidateResult, twin: string, twinIsSource: boolean): string {
  const rec = r.passRecords[r.passRecords.length - 1];
  const groups = new Map<string, number>();
  for (const sk of rec?.skipped ?? []) groups.set(`${sk.opType}: ${sk.reason}`, (groups.get(`${sk.opType}: ${sk.reason}`) ?? 0) + 1);
  const reasons = [...groups]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, n]) => `${k}${n > 1 ? ` ×${n}` : ''}`);
  const notes = (rec?.notes ?? []).slice(0, 1);
  const why = [...reasons, ...notes].join('; ');
  return twinIsSource
    ? `the built model is byte-identical to the source${rec ? `: ${rec.pass} changed nothing` : ''}${why ? ` (${why})` : ''}`
    : `the built model is byte-identical to candidate ${twin}: these parameters change nothing${why ? ` (${why})` : ''}`;
}

export function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim()) ?? s).slice(0, 300);
}
