// A summary with chains for the report's tests: prune 0.25 → recover 60 and its extensions by
// quantize-static and a longer recovery, quantize-static → qat 100, a session-only change, and
// failed, dropped and no-change candidates. Latencies are drawn from a fixed seed; verdicts come from
// the search's own `choose`, so the fixture is a summary the search could have written.

import { parseConstraint, describeCheck } from '../search/constraints.js';
import { choose } from '../search/pareto.js';
import { latencyFigures } from '../search/stats.js';
import type { CandidateResult, Measurement, Summary } from '../search/types.js';
import { mulberry32 } from '../util/rng.js';
import type { Step } from './chain-text.js';

type StageTimes = NonNullable<CandidateResult['stageTimes']>;

const prune: Step = { name: 'prune-structured', params: { ratio: 0.25 } };
const recover = (steps: number): Step => ({ name: 'recover', params: { steps } });
const qstatic: Step = { name: 'quantize-static', params: {} };
const qat: Step = { name: 'qat', params: { steps: 100 } };

/** Latency around `ms` (p50) and a CER with a ±0.006 interval, screened or fully measured. */
function measured(ms: number, cer: number, stage: 'screen' | 'full', seed: number): Measurement {
  const r = mulberry32(seed);
  const samples = Array.from({ length: stage === 'full' ? 300 : 60 }, () => ms * (0.96 + 0.08 * r()));
  const n = 200;
  return {
    stage,
    latency: latencyFigures(samples, seed),
    quality: {
      primary: { name: 'cer', value: cer, ci: [Math.max(0, cer - 0.006), cer + 0.006] },
      metrics: {},
      n,
      perItem: Array.from({ length: n }, (_, i) => (i < Math.round(cer * n) ? 1 : 0)),
      source: 'task',
    },
    measuredAt: '2026-12-05T07:00:00.000Z',
    wallMs: stage === 'full' ? 4000 + ms * 100 : 600 + ms * 20,
  };
}

function cand(id: string, label: string, passes: Step[], extra: Partial<CandidateResult> = {}): CandidateResult {
  return {
    id,
    config: { label, passes, session: { graphOptimizationLevel: 'all', disabledOptimizers: [] } },
    status: 'ok',
    sizeBytes: 4e6,
    passRecords: [],
    ...extra,
  };
}

const built = (stage: string, wallMs: number, more: Partial<StageTimes[number]> = {}) => ({ stage, wallMs, cached: false, ...more });
const cached = (stage: string) => ({ stage, wallMs: 15, cached: true });

function candidates(): CandidateResult[] {
  const both = (ms: number, cer: number, seed: number) => ({ screen: measured(ms, cer, 'screen', seed), full: measured(ms, cer, 'full', seed + 100) });
  return [
    cand('base', 'fp32 (source)', [], both(20, 0.04, 1)),
    cand('fp32-ext', 'fp32 opt=extended', [], {
      ...both(19, 0.04, 2),
      config: { label: 'fp32 opt=extended', passes: [], session: { graphOptimizationLevel: 'extended', disabledOptimizers: [] } },
    }),
    cand('qs', 'int8 static', [qstatic], { ...both(9, 0.06, 3), stageTimes: [built('quantize-static', 3200)] }),
    cand('pr', 'prune 0.25 → recover 60', [prune, recover(60)], {
      ...both(14, 0.044, 4),
      stageTimes: [built('prune-structured', 1200), built('recover', 48_000)],
    }),
    cand('prq', 'prune 0.25 → recover 60 → int8 static', [prune, recover(60), qstatic], {
      ...both(6.5, 0.058, 5),
      parentId: 'pr',
      stageTimes: [cached('prune-structured'), cached('recover'), built('quantize-static', 2900)],
    }),
    cand('qq', 'int8 static → qat 100', [qstatic, qat], {
      ...both(9.1, 0.045, 6),
      parentId: 'qs',
      stageTimes: [cached('quantize-static'), built('qat', 95_000, { resumedFromStep: 40 })],
    }),
    cand('prr', 'prune 0.25 → recover 60 → recover 240', [prune, recover(60), recover(240)], {
      ...both(13.9, 0.041, 7),
      // no parentId: it hangs from its prefix
      stageTimes: [cached('prune-structured'), cached('recover'), built('recover', 170_000)],
    }),
    cand('p50', 'prune 0.5 → recover 60', [{ name: 'prune-structured', params: { ratio: 0.5 } }, recover(60)], {
      status: 'failed',
      error: 'recover diverged: loss NaN at step 12',
      stageTimes: [built('prune-structured', 1100), built('recover', 9000)],
    }),
    cand('dyn', 'int8 dynamic', [{ name: 'quantize-dynamic', params: {} }], {
      screen: measured(16, 0.05, 'screen', 8),
      stageTimes: [built('quantize-dynamic', 800)],
    }),
    cand('int4', 'int4 weights', [{ name: 'quantize-int4', params: { blockSize: 32 } }], { identicalTo: 'base', stageTimes: [built('quantize-int4', 400)] }),
  ];
}

/** Verdicts as the search gives them: `choose` over the measured candidates, misses from the checks. */
function judge(cs: CandidateResult[], s: Pick<Summary, 'constraints' | 'objective'>): string | undefined {
  const base = cs.find((c) => c.id === 'base')!;
  const choice = choose(cs, s.constraints, base, s.objective, { requireFull: true });
  for (const c of cs) {
    if (c.status === 'failed') c.verdict = { kind: 'failed', why: c.error! };
    else if (c.identicalTo) c.verdict = { kind: 'no-change', why: 'the built model is byte-identical to the source' };
    else if (!c.full) c.verdict = { kind: 'dropped', why: 'slower than the budget at screening' };
    else {
      c.checks = choice.checks.get(c.id) ?? [];
      const misses = c.checks.filter((k) => !k.ok).map(describeCheck);
      if (choice.chosen?.id === c.id) c.verdict = { kind: 'chosen' };
      else if (misses.length) c.verdict = { kind: 'rejected', why: misses.join('; ') };
      else c.verdict = { kind: 'feasible', why: 'meets every constraint, slower than the chosen one' };
    }
  }
  return choice.chosen?.id;
}

export function lineageSummary(): Summary {
  const constraints = [parseConstraint('p99<=10ms'), parseConstraint('cer<=+1pt')];
  const cs = candidates();
  const chosen = judge(cs, { constraints, objective: 'p99' });
  return {
    schema: 'edgefit.optimize.summary/1',
    createdAt: '2026-12-05T07:00:00.000Z',
    source: { path: 'rec.onnx', sha256: 'ab'.repeat(32), sizeBytes: 10e6 },
    task: { name: 'ocr-rec', dataSha256: 'cd'.repeat(32), n: 200, primary: 'cer' },
    constraints,
    objective: 'p99',
    threads: 1,
    machine: { cpu: 'test CPU', cores: 2, os: 'linux', node: 'v20', ort: '1.30.0', threads: 1 },
    baseline: 'base',
    ...(chosen ? { chosen } : {}),
    feasible: chosen !== undefined,
    candidates: cs,
    timeLimitSec: 900,
    elapsedSec: 420,
    notes: [],
  };
}
