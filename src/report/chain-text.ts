// How a chain of stages reads in the report: each step as its name and its parameters in short
// ("prune-structured ratio=0.25 → recover steps=60"), and a canonical key to find one chain's prefix.

import type { CandidateConfig } from '../search/types.js';

export type Step = CandidateConfig['passes'][number];

function shortValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.length} names]`;
  const s = String(v);
  return s.length > 24 ? `${s.slice(0, 23)}…` : s;
}

/** One step in short: its name, then its set parameters as key=value (a lone parameter by value alone). */
export function stepText(step: Step): string {
  const params = Object.entries(step.params).filter(([, v]) => v !== undefined);
  if (params.length === 0) return step.name;
  if (params.length === 1) return `${step.name} ${shortValue(params[0]![1])}`;
  return `${step.name} ${params.map(([k, v]) => `${k}=${shortValue(v)}`).join(' ')}`;
}

export function stepsText(steps: readonly Step[]): string {
  return steps.length ? steps.map(stepText).join(' → ') : '(source as is)';
}

/** A chain short enough to label a dot: the first step, an ellipsis, and the last step when the whole is too long. */
export function chainLabel(steps: readonly Step[], max = 44): string {
  const all = stepsText(steps);
  if (all.length <= max || steps.length < 3) return all;
  return `${stepText(steps[0]!)} → … → ${stepText(steps[steps.length - 1]!)}`;
}

/** A configuration's chain and its session settings, in short. */
export function configText(config: CandidateConfig): string {
  const session = sessionText(config.session);
  return config.passes.length ? [stepsText(config.passes), session].filter(Boolean).join(', ') : session || '(source as is)';
}

/** Canonical text of a list of steps: the same steps with the same parameters give the same key. */
export function chainKey(steps: readonly Step[]): string {
  return JSON.stringify(
    steps.map((s) => [
      s.name,
      Object.entries(s.params)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ]),
  );
}

/** ORT session settings that differ from the default, in short ("ORT opt=extended"). */
export function sessionText(session: CandidateConfig['session']): string {
  return [
    session.graphOptimizationLevel !== 'all' ? `ORT opt=${session.graphOptimizationLevel}` : '',
    session.disabledOptimizers.length ? `ORT disable ${session.disabledOptimizers.join(',')}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function sameSession(a: CandidateConfig['session'], b: CandidateConfig['session']): boolean {
  return a.graphOptimizationLevel === b.graphOptimizationLevel && a.disabledOptimizers.join(',') === b.disabledOptimizers.join(',');
}
