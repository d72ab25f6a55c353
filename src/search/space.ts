// The candidate space, built from the registered passes and their declared parameters: the source as
// is, the prepared source (opset upgrade, constants as initializers), each transforming pass with its
// enum/boolean parameters varied one at a time, per-node exclusions from sensitivity, and ORT session
// settings (optimization level, disabled optimizers).

import { createHash } from 'node:crypto';
import type { ParamSpec, Pass, ParamValues, StageRole } from '../passes/pass.js';
import type { CandidateConfig, OptLevel, Sensitivity } from './types.js';

/** Passes that prepare a model for the others rather than being candidates of their own. */
export const PREP_PASSES = ['constants-to-initializers', 'upgrade-opset'] as const;
/** Quantizing passes need opset ≥ 13 (per-axis Q/DQ); older models are upgraded first. */
export const MIN_QUANT_OPSET = 13;
export const UPGRADE_TARGET = 17;
/** The training stages chains use, by their registered names (rows of PASSES with role 'train'). */
export const RECOVER_STAGE = 'recover';
export const QAT_STAGE = 'qat';

export interface SpaceOptions {
  passes: readonly Pass[];
  /** The source model's default-domain opset. */
  sourceOpset: number;
  /** Whether calibration data exists (task data); passes that need it are left out otherwise. */
  hasCalibration: boolean;
  /** Ranked per-node sensitivity (most sensitive first), for exclusion variants. */
  sensitivity?: Sensitivity;
  /** Most variants per pass (default 4). */
  maxPerPass?: number;
  /**
   * Most prune → recover chains per pass (default maxPerPass): each builds a training stage, minutes on
   * a real model, so a short run builds only the mildest cut (the first searched value).
   */
  prunePerPass?: number;
  /** Passes to leave out by name. */
  skip?: readonly string[];
  /** False when the training stages cannot feed the source (several inputs, token ids): no training chains. */
  trainable?: boolean;
}

export function configId(cfg: CandidateConfig): string {
  const h = createHash('sha256')
    .update(JSON.stringify({ p: cfg.passes, s: cfg.session }))
    .digest('hex')
    .slice(0, 8);
  const slug = cfg.label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  return `${slug || 'candidate'}-${h}`;
}

const SESSION_ALL = { graphOptimizationLevel: 'all' as OptLevel, disabledOptimizers: [] as string[] };

/** The baseline: the source model exactly as given, ORT at its default optimization level. */
export function baselineConfig(): CandidateConfig {
  return { label: 'baseline', passes: [], session: { ...SESSION_ALL } };
}

export function prepPasses(opts: SpaceOptions): { name: string; params: ParamValues }[] {
  const has = (n: string) => opts.passes.some((p) => p.name === n);
  const out: { name: string; params: ParamValues }[] = [];
  if (has('constants-to-initializers')) out.push({ name: 'constants-to-initializers', params: {} });
  if (has('upgrade-opset') && opts.sourceOpset < MIN_QUANT_OPSET) out.push({ name: 'upgrade-opset', params: { target: UPGRADE_TARGET } });
  return out;
}

/** A pass's role in a chain: declared, else 'prep' for preparation passes, else 'transform'. */
export function roleOf(pass: Pass): StageRole {
  return pass.role ?? (pass.prep ? 'prep' : 'transform');
}

/** Whether a step needs the chain's training context (teacher and samples): a training stage, or a pass that says so for these parameters. */
export function needsTrainingContext(pass: Pass, params: ParamValues | undefined): boolean {
  return roleOf(pass) === 'train' || !!pass.needsTrainData?.(params ?? {});
}

/** Whether a pass declares its search space (searched values or a keep-float parameter): then no name heuristics apply. */
function declares(pass: Pass): boolean {
  return pass.keepFloatParam !== undefined || Object.values(pass.params).some((s) => s.search);
}

/** The values a parameter is searched over besides its default: declared, else the other enum values or the flipped boolean. */
function searchedValues(key: string, spec: ParamSpec, pass: Pass): (string | number | boolean)[] {
  if (spec.search) return spec.search.values.filter((v) => v !== spec.default);
  if (spec.type === 'string[]' || key === excludeParam(pass)) return [];
  // Undeclared passes: names that suggest node lists or sizes are left alone.
  if (!declares(pass) && /exclude|keep|block/i.test(key)) return [];
  if (spec.type === 'enum' && spec.values) return spec.values.filter((v) => v !== spec.default);
  if (spec.type === 'boolean') return [!(spec.default ?? false)];
  return [];
}

/**
 * Variants of a pass's parameters: the defaults, then its declared presets (combinations), then one
 * factor at a time (declared search values, enum values, the flipped boolean). `max` caps the defaults
 * and the one-at-a-time variants; presets come on top of it.
 */
export function paramVariants(pass: Pass, max: number): { params: ParamValues; tag: string }[] {
  const single: { params: ParamValues; tag: string }[] = [];
  for (const [key, spec] of Object.entries(pass.params))
    for (const v of searchedValues(key, spec, pass)) single.push({ params: { [key]: v }, tag: `${key}=${String(v)}` });
  const presets = (pass.presets ?? []).map((p) => ({ params: { ...p.params }, tag: p.tag }));
  return [{ params: {}, tag: '' }, ...presets, ...single.slice(0, Math.max(0, max - 1))];
}

/**
 * Variants of a pass whose defaults change nothing by design (pruning at ratio 0): the declared search
 * values of the parameters its `effect` sets, else the `effect` parameters themselves.
 */
export function effectVariants(pass: Pass, max: number): { params: ParamValues; tag: string }[] {
  if (!pass.effect) return [];
  const out: { params: ParamValues; tag: string }[] = [];
  for (const key of Object.keys(pass.effect.params))
    for (const v of pass.params[key]?.search?.values ?? []) if (v !== pass.params[key]!.default) out.push({ params: { [key]: v }, tag: `${key}=${String(v)}` });
  if (!out.length)
    out.push({
      params: { ...pass.effect.params },
      tag: Object.entries(pass.effect.params)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' '),
    });
  return out.slice(0, Math.max(1, max));
}

/** The parameter through which a pass keeps named nodes in float: declared (keepFloatParam), else 'keepFloat' when it has one, else an 'exclude' list. */
export function excludeParam(pass: Pass): string | undefined {
  if (pass.keepFloatParam !== undefined) return pass.params[pass.keepFloatParam]?.type === 'string[]' ? pass.keepFloatParam : undefined;
  const lists = Object.entries(pass.params).filter(([, s]) => s.type === 'string[]');
  return lists.find(([k]) => /^keep.?float$/i.test(k))?.[0] ?? lists.find(([k]) => /exclude/i.test(k))?.[0];
}

/** Every candidate the search will consider, the baseline first. Ids are stable across runs. */
export function buildSpace(opts: SpaceOptions): CandidateConfig[] {
  const prep = prepPasses(opts);
  const max = opts.maxPerPass ?? 4;
  const out: CandidateConfig[] = [baselineConfig()];
  // Graph-optimization settings of the fp32 model: ORT's extended level skips the layout transforms
  // of 'all', which sometimes cost more than they give on small inputs.
  out.push({ label: 'fp32 opt=extended', passes: [], session: { graphOptimizationLevel: 'extended', disabledOptimizers: [] } });
  if (prep.some((p) => p.name === 'upgrade-opset')) out.push({ label: `fp32 opset${UPGRADE_TARGET}`, passes: prep, session: { ...SESSION_ALL } });

  for (const pass of opts.passes) {
    if (roleOf(pass) !== 'transform' || (PREP_PASSES as readonly string[]).includes(pass.name) || opts.skip?.includes(pass.name)) continue;
    // A pass whose defaults change nothing by design (pruning at ratio 0) needs a recovery stage after it
    // to be a candidate (pruneChains); single-pass candidates would only be no-ops or broken models.
    if (pass.effect) continue;
    if (pass.needsCalibration && !opts.hasCalibration) continue;
    for (const v of paramVariants(pass, max)) {
      const label = v.tag ? `${pass.name} ${v.tag}` : pass.name;
      const passes = [...prep, { name: pass.name, params: v.params }];
      out.push({ label, passes, session: { ...SESSION_ALL } });
      // calibrated quantizers are also tried after the exact and task-fitting rewrites (clean-fp32 →
      // prune-classes → quantize-static; see quantPrefixes)
      if (pass.needsCalibration && pass.keepFloatParam)
        for (const pre of quantPrefixes(opts))
          out.push({
            label: `${pre.map((p) => p.name).join(' → ')} → ${label}`,
            passes: [...prep, ...pre.map((p) => ({ name: p.name, params: {} })), { name: pass.name, params: v.params }],
            session: { ...SESSION_ALL },
          });
    }
    // QDQ graphs: ORT's MatMulAddFusion can turn weight DequantizeLinear into per-run work; try without it.
    if (/static|qdq/.test(pass.name)) {
      out.push({
        label: `${pass.name} no-MatMulAddFusion`,
        passes: [...prep, { name: pass.name, params: {} }],
        session: { graphOptimizationLevel: 'all', disabledOptimizers: ['MatMulAddFusion'] },
      });
    }
    const ex = excludeParam(pass);
    const rows = opts.sensitivity?.rows ?? [];
    if (ex && rows.length) {
      const ks = [...new Set([1, 3, Math.ceil(rows.length * 0.1)])].filter((k) => k <= rows.length);
      for (const k of ks) {
        const nodes = rows.slice(0, k).map((r) => r.node);
        out.push({
          label: `${pass.name} keep ${k} sensitive fp32`,
          passes: [...prep, { name: pass.name, params: { [ex]: nodes } }],
          session: { ...SESSION_ALL },
        });
      }
    }
  }
  out.push(...pruneChains(opts, prep));
  // Same config twice (e.g. two passes that collapse to one list) is measured once.
  const seen = new Set<string>();
  return out.filter((c) => {
    const id = configId(c);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Registered exact rewrites (Pass.exactPrefix) not skipped: tried before the calibrated quantizers too. */
export function exactPrefixes(opts: SpaceOptions): Pass[] {
  return opts.passes.filter((p) => p.exactPrefix && roleOf(p) === 'transform' && !opts.skip?.includes(p.name));
}

/** Registered task-fitting rewrites (Pass.taskPrefix) not skipped, when calibration data exist to fit them on. */
export function taskPrefixes(opts: SpaceOptions): Pass[] {
  return opts.hasCalibration ? opts.passes.filter((p) => p.taskPrefix && roleOf(p) === 'transform' && !opts.skip?.includes(p.name)) : [];
}

/**
 * The prefixes tried before a calibrated quantizer: all the exact rewrites followed by the task-fitting
 * ones (clean-fp32 → prune-classes), or without task-fitting ones each exact rewrite alone. Not both: in
 * the default 15 minutes every extra variant screened takes the place of a full measurement, and a
 * task-fitting pass that finds nothing to change builds the same model as the exact prefix alone. What
 * each part buys shows in the fp32 candidates (clean-fp32, prune-classes alone) and in the quantizer
 * without any prefix; `npm run bench -- classes` measures it with and without.
 */
export function quantPrefixes(opts: SpaceOptions): Pass[][] {
  const exact = exactPrefixes(opts);
  const task = taskPrefixes(opts);
  return task.length ? [[...exact, ...task]] : exact.map((e) => [e]);
}

/** A registered training stage by name, unless skipped or lacking the data it needs. */
export function trainStage(opts: SpaceOptions, name: string): Pass | undefined {
  const p = opts.passes.find((q) => q.name === name && roleOf(q) === 'train');
  return p && opts.trainable !== false && !opts.skip?.includes(name) && (!p.needsCalibration || opts.hasCalibration) ? p : undefined;
}

/** The step totals of a training stage, shortest first: its declared search values of `steps`, else its default and 4× it. */
export function stepRungs(stage: Pass): number[] {
  const spec = stage.params.steps;
  const declared = (spec?.search?.values ?? []).filter((v): v is number => typeof v === 'number' && v > 0);
  if (declared.length) return [...new Set(declared)].sort((a, b) => a - b);
  const d = typeof spec?.default === 'number' && spec.default > 0 ? spec.default : 200;
  return [d, 4 * d];
}

/** prune{searched ratio} → recover{short}: one chain per variant of each pass that needs recovery, when a recover stage is registered. */
export function pruneChains(opts: SpaceOptions, prep: { name: string; params: ParamValues }[]): CandidateConfig[] {
  const recover = trainStage(opts, RECOVER_STAGE);
  if (!recover) return [];
  const steps = stepRungs(recover)[0]!;
  const out: CandidateConfig[] = [];
  for (const pass of opts.passes) {
    if (roleOf(pass) !== 'transform' || !pass.effect || opts.skip?.includes(pass.name) || (pass.needsCalibration && !opts.hasCalibration)) continue;
    // Only passes that declare the values worth searching: unstructured sparsity (prune-magnitude)
    // declares none, because ORT's dense kernels give it no speed, and training for it would be wasted.
    if (!Object.keys(pass.effect.params).some((k) => pass.params[k]?.search?.values.length)) continue;
    for (const v of effectVariants(pass, opts.prunePerPass ?? opts.maxPerPass ?? 4))
      out.push({
        label: `${pass.name} ${v.tag} → ${RECOVER_STAGE} ${steps}`,
        passes: [...prep, { name: pass.name, params: { ...pass.searchParams, ...v.params } }, { name: RECOVER_STAGE, params: { steps } }],
        session: { ...SESSION_ALL },
      });
  }
  return out;
}

/** Extra candidates after screening: a quantized candidate that missed the quality floor, with its most sensitive nodes kept in float. */
export function exclusionVariants(base: CandidateConfig, pass: Pass, nodes: readonly string[], counts: readonly number[]): CandidateConfig[] {
  const ex = excludeParam(pass);
  if (!ex) return [];
  return counts
    .filter((k) => k > 0 && k <= nodes.length)
    .map((k) => ({
      label: `${base.label} keep ${k} sensitive fp32`,
      passes: base.passes.map((p) => (p.name === pass.name ? { name: p.name, params: { ...p.params, [ex]: nodes.slice(0, k) } } : p)),
      session: base.session,
    }));
}
