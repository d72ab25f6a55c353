// Pass: "fp32, cleaned". Exact float32 rewrites that ORT does not do itself on PP-LCNet-style models:
// scale/bias Mul and Add folded into the neighbouring Conv, BatchNormalization folded into its Conv,
// and exporter-written HardSwish turned into the op (upgrading to opset 14 when that is needed). The
// rows live in clean/rules.ts; this file runs them to a fixpoint and records what each did.

import { constantsToInitializers } from '../onnx/constants.js';
import { UsageError } from '../onnx/errors.js';
import type { Graph } from '../onnx/graph.js';
import { removeDeadNodes, topoSort } from '../onnx/graph-utils.js';
import type { Model } from '../onnx/model.js';
import { upgradeOpset } from '../onnx/opset-upgrade.js';
import { upgradeOpset as upgradeOpsetPass } from './upgrade-opset.js';
import { CLEAN_RULES } from './clean/rules.js';
import type { CleanRule } from './clean/rule.js';
import type { Pass } from './pass.js';

const MAX_ROUNDS = 8;
/**
 * Where a model goes when a rule needs a newer opset: the upgrade-opset pass's default (17), not the
 * rule's minimum. At opset 14, ORT 1.30 misses one LayerNormalization fusion in PP-OCRv4 rec.
 */
const UPGRADE_TO = upgradeOpsetPass.params.target!.default as number;

const graphsOf = (m: Model) => {
  const gs: Graph[] = [];
  m.graph.walk((g) => gs.push(g));
  return gs;
};

/** Whether `rule` would rewrite anything in `model` (run on a copy). */
const wouldApply = (model: Model, rule: CleanRule) => graphsOf(model.clone()).some((g) => rule.apply(g) > 0);

/** Runs `rules` over every graph of `model` (in place) until nothing changes; rewrites per rule. */
export function cleanFp32(model: Model, rules: CleanRule[] = CLEAN_RULES): { counts: Record<string, number>; upgradedFrom?: number } {
  constantsToInitializers(model, { subgraphs: true });
  const counts: Record<string, number> = Object.fromEntries(rules.map((r) => [r.name, 0]));
  const opset = model.opset('') ?? 0;
  const need = Math.max(0, ...rules.filter((r) => r.minOpset && opset < r.minOpset && wouldApply(model, r)).map((r) => r.minOpset!));
  const to = need > opset ? Math.max(need, UPGRADE_TO) : opset;
  const usable = rules.filter((r) => !r.minOpset || to >= r.minOpset);
  if (to > opset) upgradeOpset(model, to);
  for (let round = 0, changed = true; changed && round < MAX_ROUNDS; round++) {
    changed = false;
    for (const g of graphsOf(model))
      for (const rule of usable) {
        const k = rule.apply(g);
        counts[rule.name]! += k;
        if (k) changed = true;
      }
  }
  removeDeadNodes(model.graph);
  topoSort(model.graph);
  return { counts, upgradedFrom: to > opset ? opset : undefined };
}

export const cleanFp32Pass: Pass = {
  name: 'clean-fp32',
  description: 'exact fp32 cleanup: Conv absorbs BatchNormalization and constant scale/bias Mul/Add, written-out HardSwish becomes the op',
  role: 'transform',
  params: {
    rules: {
      type: 'string[]',
      default: CLEAN_RULES.map((r) => r.name),
      description: `rewrites to run, from: ${CLEAN_RULES.map((r) => r.name).join(', ')}`,
    },
  },
  tolerance: { metric: 'cosine', value: 0.99999 },
  async run(model, params) {
    const names = params.rules as string[];
    const unknown = names.filter((n) => !CLEAN_RULES.some((r) => r.name === n));
    if (unknown.length)
      throw new UsageError(
        `clean-fp32: unknown rule ${unknown.map((u) => `'${u}'`).join(', ')}`,
        `the rules are: ${CLEAN_RULES.map((r) => r.name).join(', ')}`,
      );
    const out = model.clone();
    constantsToInitializers(out, { subgraphs: true }); // so that weights in Constant nodes count as constants; not a rewrite
    const before = countNodes(out);
    const { counts, upgradedFrom } = cleanFp32(
      out,
      CLEAN_RULES.filter((r) => names.includes(r.name)),
    );
    const removed = before - countNodes(out);
    const done = Object.entries(counts).filter(([, v]) => v > 0);
    const notes = done.length
      ? [`rewrote: ${done.map(([k, v]) => `${k} ${v}`).join(', ')}`]
      : ['nothing to clean: no Conv with a constant scale/bias or BatchNormalization beside it, and no written-out HardSwish'];
    if (upgradedFrom !== undefined) notes.push(`upgraded opset ${upgradedFrom} → ${out.opset('')} for HardSwish`);
    return {
      model: out,
      record: { pass: 'clean-fp32', params, stats: { nodesBefore: before, nodesAfter: countNodes(out), nodesRemoved: removed, ...counts }, skipped: [], notes },
    };
  },
};

function countNodes(m: Model): number {
  return graphsOf(m).reduce((a, g) => a + g.nodes.length, 0);
}
