// Chains and their extensions, as pure functions. A candidate's chain is its `config.passes`; after
// screening, a promising chain is extended by one stage: a quantizing transform, QAT after a static-int8
// chain that misses the quality floor, or a longer recovery (successive halving). A chain that already
// misses a constraint the new stage cannot fix is not extended (prefix pruning).

import type { Constraint } from '../constraints.js';
import type { CandidateConfig } from '../types.js';
import type { ParamValues } from '../../passes/pass.js';
import type { StepKind } from './cost-model.js';
import type { Depth } from './depth.js';

export interface ChainPlan {
  /** Quantizing transforms appended to promising chains (default parameters). */
  quantizers: { name: string; params: ParamValues }[];
  /**
   * Quantizing tails that screened best on the source (e.g. clean-fp32 → quantize-static int8-chains),
   * appended to promising chains besides the quantizers' defaults: a pruned chain is worth quantizing
   * the way that was fastest unpruned. Filled in by the search after the first screening.
   */
  tails?: { label: string; steps: { name: string; params: ParamValues }[] }[];
  /**
   * Quantizers not appended to other chains, because their own candidates screened off the front on the
   * source (quantizersOffFront). Filled in by the search after the first screening.
   */
  offFront?: string[];
  /** Of the quantizers, the ones whose output is a static int8 QDQ model (QAT applies after them). */
  qdq: string[];
  /** The recovery stage and its step totals, shortest first (the initial chains use the first). */
  recover?: { name: string; rungs: number[] };
  /**
   * The QAT stage and its steps; `lsq`: it can learn its scales, which it does after a recovered chain
   * (a pruned model) and after a quantizer that puts depthwise convs in int8 (their per-tensor scales):
   * on PaddleOCR rec cut 25% and recovered, QAT with fixed scales made CER worse than PTQ (0.0873 →
   * 0.1020) and with learned scales brought it to 0.0392 (fp32 0.0334); after the `int8-chains` preset
   * on the unpruned rec, fixed scales read more characters wrong than PTQ (0.0097 against 0.0073
   * without spaces; CER 0.0388) and learned scales fewer (0.0063; CER 0.0263); with float depthwise
   * convs, fixed scales did better (0.0178 against 0.0250; PTQ 0.0593).
   */
  qat?: { name: string; steps: number; lsq?: boolean };
  depth: Depth;
  /** How near the front a chain must be to be extended: its latency divided by (1 + margin) is not dominated. */
  margin: number;
}

/** Which constraint kinds a later stage can repair: quantizing lowers latency, size and memory but never raises quality; training raises quality and changes nothing else. */
export const FIXES: Record<'quantize' | 'train', readonly Constraint['kind'][]> = {
  quantize: ['latency', 'size', 'memory'],
  train: ['quality'],
};

export function fixable(by: 'quantize' | 'train', misses: readonly Constraint['kind'][]): boolean {
  return misses.every((m) => FIXES[by].includes(m));
}

/** A chain's identity regardless of its label: its steps and session settings. */
export function chainKey(cfg: CandidateConfig): string {
  return JSON.stringify({ p: cfg.passes, s: cfg.session });
}

export function stepTag(step: { name: string; params: ParamValues }): string {
  const tags = Object.entries(step.params)
    .filter(([, v]) => v !== undefined && !Array.isArray(v))
    .map(([k, v]) => (k === 'steps' ? String(v) : `${k}=${String(v)}`));
  return [step.name, ...tags].join(' ');
}

export interface ChainState {
  cfg: CandidateConfig;
  /** On or near the Pareto front at screening. */
  nearFront: boolean;
  /** The kinds of constraint it misses at screening (point figures). */
  misses: Constraint['kind'][];
  /**
   * The best (by quality) of the chains of its round that end in a training stage: successive halving
   * keeps training it even when it is not near the front yet, because more training is what moves it
   * there; the others stop.
   */
  betterHalf?: boolean;
}

/** The steps with each one's keep-float list left out: two tails that differ only in which nodes stay float are one tail. */
function tailKey(steps: readonly { name: string; params: ParamValues }[], keepFloatOf: (name: string) => string | undefined): string {
  return JSON.stringify(
    steps.map((p) => {
      const k = keepFloatOf(p.name);
      if (k === undefined || !(k in p.params)) return p;
      const { [k]: _, ...rest } = p.params;
      return { name: p.name, params: rest };
    }),
  );
}

/**
 * The quantizing tails of the fastest screened chains that quantize without training: each chain's steps
 * after its preparation steps (labelled as the chain is), when they are not just one quantizer at its
 * defaults (the plan has those already). `chains` come fastest first; at most `max` distinct tails, where
 * tails that differ only in their keep-float lists (`keepFloatOf` names a pass's list) count once, as the
 * fastest of them.
 */
export function quantizeTails(
  chains: readonly CandidateConfig[],
  plan: ChainPlan,
  kindOf: (name: string) => StepKind,
  max = 2,
  keepFloatOf: (name: string) => string | undefined = () => undefined,
): NonNullable<ChainPlan['tails']> {
  const out: NonNullable<ChainPlan['tails']> = [];
  const seen = new Set<string>();
  for (const c of chains) {
    const steps = c.passes.filter((p) => kindOf(p.name) !== 'prep');
    if (!steps.length || steps.some((p) => kindOf(p.name) === 'train')) continue;
    if (!steps.some((p) => plan.quantizers.some((q) => q.name === p.name))) continue;
    const key = tailKey(steps, keepFloatOf);
    if (seen.has(key) || plan.quantizers.some((q) => JSON.stringify([q]) === key)) continue;
    seen.add(key);
    out.push({ label: c.label, steps });
    if (out.length >= max) break;
  }
  return out;
}

/**
 * The quantizers not worth appending to other chains: those whose own candidates (the quantizer alone,
 * after prep passes at most) were all screened and none is on or near the front. One that did not pay on
 * the source (fp16 or weight-only int4 on a conv net) is not screened again after every pruned chain. A
 * quantizer with no screened candidate of its own is kept: nothing is known against it.
 */
export function quantizersOffFront(plan: ChainPlan, screened: readonly ChainState[], kindOf: (name: string) => StepKind): string[] {
  return plan.quantizers
    .filter((q) => {
      const own = screened.filter((s) => {
        const steps = s.cfg.passes.filter((p) => kindOf(p.name) !== 'prep');
        return steps.length === 1 && steps[0]!.name === q.name;
      });
      return own.length > 0 && !own.some((s) => s.nearFront);
    })
    .map((q) => q.name);
}

/** Whether a chain quantizes already (a quantizer or QAT among its steps). */
export function isQuantized(cfg: CandidateConfig, plan: ChainPlan): boolean {
  return cfg.passes.some((p) => plan.quantizers.some((q) => q.name === p.name) || p.name === plan.qat?.name);
}

export interface Extension {
  cfg: CandidateConfig;
  kind: 'quantize' | 'qat' | 'recover';
}

/** The chains one stage longer than `s` that are worth screening, by the plan's rules. */
export function extensionsOf(s: ChainState, plan: ChainPlan, kindOf: (name: string) => StepKind): Extension[] {
  const steps = s.cfg.passes;
  const quantized = isQuantized(s.cfg, plan);
  const substantive = steps.some((p) => kindOf(p.name) !== 'prep');
  const last = steps[steps.length - 1];
  const out: Extension[] = [];
  const append = (step: { name: string; params: ParamValues }, kind: Extension['kind'], tag = stepTag(step)) =>
    out.push({ kind, cfg: { label: `${s.cfg.label} → ${tag}`, passes: [...steps, step], session: s.cfg.session } });
  // (a) quantize a promising chain that is not quantized yet (single passes already are candidates):
  //     each quantizer's defaults, and the tails that screened best on the source
  if (s.nearFront && substantive && !quantized && fixable('quantize', s.misses)) {
    for (const q of plan.quantizers) if (!plan.offFront?.includes(q.name)) append(q, 'quantize');
    for (const t of plan.tails ?? [])
      out.push({ kind: 'quantize', cfg: { label: `${s.cfg.label} → ${t.label}`, passes: [...steps, ...t.steps], session: s.cfg.session } });
  }
  // (b) QAT after a static-int8 chain that misses the quality floor (and nothing QAT cannot fix)
  if (plan.depth.qat && plan.qat && last && plan.qdq.includes(last.name) && s.misses.includes('quality') && fixable('train', s.misses)) {
    const recovered = plan.recover !== undefined && steps.some((p) => p.name === plan.recover!.name);
    const learnScales = plan.qat.lsq && (recovered || last.params.quantizeDepthwise === true);
    append({ name: plan.qat.name, params: { steps: plan.qat.steps, ...(learnScales ? { lsq: true } : {}) } }, 'qat');
  }
  // (c) successive halving: a longer recovery for a training chain on or near the front, or the best
  //     training chain of its round
  //     (beside a quality miss, a latency or size miss does not stop it while the chain is unquantized:
  //     quantizing comes after)
  const laterFixable =
    fixable('train', s.misses) || (!quantized && s.misses.includes('quality') && s.misses.every((m) => FIXES.train.includes(m) || FIXES.quantize.includes(m)));
  if (plan.depth.halving && plan.recover && (s.nearFront || s.betterHalf) && last?.name === plan.recover.name && laterFixable) {
    let total = 0;
    for (let i = steps.length - 1; i >= 0 && steps[i]!.name === plan.recover.name; i--) total += Number(steps[i]!.params.steps) || 0;
    const next = plan.recover.rungs.find((r) => r > total);
    if (next !== undefined)
      append({ name: plan.recover.name, params: { steps: next - total } }, 'recover', `${plan.recover.name} +${next - total} (${next} in all)`);
  }
  return out;
}
