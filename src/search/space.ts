// The candidate space, built from the registered passes and their declared parameters: the source as
// is, the prepared source (opset upgrade, constants as initializers), each transforming pass with its
// enum/boolean parameters varied one at a time, per-node exclusions from sensitivity, and ORT session
// settings (optimization level, disabled optimizers).

import { createHash } from 'node:crypto';
import type { Pass, ParamValues } from '../passes/pass.js';
import type { CandidateConfig, OptLevel, Sensitivity } from './types.js';

/** Passes that prepare a model for the others rather than being candidates of their own. */
export const PREP_PASSES = ['constants-to-initializers', 'upgrade-opset'] as const;
/** Quantizing passes need opset ≥ 13 (per-axis Q/DQ); older models are upgraded first. */
export const MIN_QUANT_OPSET = 13;
export const UPGRADE_TARGET = 17;

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
  /** Passes to leave out by name. */
  skip?: readonly string[];
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

function prepPasses(opts: SpaceOptions): { name: string; params: ParamValues }[] {
  const has = (n: string) => opts.passes.some((p) => p.name === n);
  const out: { name: string; params: ParamValues }[] = [];
  if (has('constants-to-initializers')) out.push({ name: 'constants-to-initializers', params: {} });
  if (has('upgrade-opset') && opts.sourceOpset < MIN_QUANT_OPSET) out.push({ name: 'upgrade-opset', params: { target: UPGRADE_TARGET } });
  return out;
}

/** One-factor-at-a-time variants of a pass's enum and boolean parameters, the defaults first. */
export function paramVariants(pass: Pass, max: number): { params: ParamValues; tag: string }[] {
  const out: { params: ParamValues; tag: string }[] = [{ params: {}, tag: '' }];
  for (const [key, spec] of Object.entries(pass.params)) {
    if (/exclude|keep|block/i.test(key)) continue;
    let values: (string | boolean)[] = [];
    if (spec.type === 'enum' && spec.values) values = spec.values.filter((v) => v !== spec.default);
    else if (spec.type === 'boolean') values = [!(spec.default ?? false)];
    for (const v of values) out.push({ params: { [key]: v }, tag: `${key}=${String(v)}` });
  }
  return out.slice(0, Math.max(1, max));
}

/** The parameter through which a pass keeps named nodes in float: 'keepFloat' when it has one, else an 'exclude' list. */
export function excludeParam(pass: Pass): string | undefined {
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
    if (pass.prep || (PREP_PASSES as readonly string[]).includes(pass.name) || opts.skip?.includes(pass.name)) continue;
    // A pass whose defaults change nothing by design (pruning at ratio 0) needs a recovery stage after it
    // to be a candidate; single-pass candidates would only be no-ops or broken models.
    if (pass.effect) continue;
    if (pass.needsCalibration && !opts.hasCalibration) continue;
    for (const v of paramVariants(pass, max)) {
      const label = v.tag ? `${pass.name} ${v.tag}` : pass.name;
      const passes = [...prep, { name: pass.name, params: v.params }];
      out.push({ label, passes, session: { ...SESSION_ALL } });
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
  // Same config twice (e.g. two passes that collapse to one list) is measured once.
  const seen = new Set<string>();
  return out.filter((c) => {
    const id = configId(c);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
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
