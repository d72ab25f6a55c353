// Pass: "fp32, cleaned". Exact float32 rewrites that ORT does not do itself on PP-LCNet-style models:
// scale/bias Mul and Add folded into the neighbouring Conv, and exporter-written HardSwish turned into
// the op (upgrading the opset when that is needed). The rows live in clean/rules.ts; this file runs
// them to a fixpoint and records what each did.

import { constantsToInitializers } from '../onnx/constants.js';
import { EdgefitError, UsageError } from '../onnx/errors.js';
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

/**
 * Upgrades `model` (in place) when a rule that would apply needs a newer opset; returns the rules that
 * can run, and a note when the upgrade was made or could not be (those rules are then left out).
 */
function upgradeFor(model: Model, rules: CleanRule[]): { usable: CleanRule[]; note?: string } {
  const opset = model.opset('') ?? 0;
  const need = Math.max(0, ...rules.filter((r) => r.minOpset && opset < r.minOpset && wouldApply(model, r)).map((r) => r.minOpset!));
  const runnable = (at: number) => rules.filter((r) => !r.minOpset || at >= r.minOpset);
  if (need <= opset) return { usable: runnable(opset) };
  const to = Math.max(need, UPGRADE_TO);
  const up = model.clone();
  try {
    upgradeOpset(up, to);
  } catch (e) {
    if (!(e instanceof EdgefitError)) throw e;
    const left = rules.filter((r) => !runnable(opset).includes(r)).map((r) => r.name);
    return { usable: runnable(opset), note: `left out ${left.join(', ')}: they need opset ${need}, and upgrading from ${opset} failed (${e.message})` };
  }
  model.graph = up.graph;
  model.opsetImports = up.opsetImports;
  return {
    usable: runnable(to),
    note: `upgraded opset ${opset} → ${to} for ${rules
      .filter((r) => !runnable(opset).includes(r))
      .map((r) => r.name)
      .join(', ')}`,
  };
}

/** Runs `rules` over every graph of `model` (in place) until nothing changes; rewrites per rule. */
export function cleanFp32(model: Model, rules: CleanRule[] = CLEAN_RULES): { counts: Record<string, number>; notes: string[] } {
  constantsToInitializers(model, { subgraphs: true });
  const counts: Record<string, number> = Object.fromEntries(rules.map((r) => [r.name, 0]));
  const { usable, note } = upgradeFor(model, rules);
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
  return { counts, notes: note ? [note] : [] };
}

export const cleanFp32Pass: Pass = {
  name: 'clean-fp32',
  description: 'exact fp32 cleanup: Conv absorbs the constant scale/bias Mul/Add around it, written-out HardSwish becomes the op',
  role: 'transform',
  exactPrefix: true,
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
    const { counts, notes: upgrade } = cleanFp32(
      out,
      CLEAN_RULES.filter((r) => names.includes(r.name)),
    );
    const removed = before - countNodes(out);
    const done = Object.entries(counts).filter(([, v]) => v > 0);
    const notes = done.length
      ? [`rewrote: ${done.map(([k, v]) => `${k} ${v}`).join(', ')}`]
      : ['nothing to clean: no Conv with a constant scale/bias beside it, and no written-out HardSwish'];
    notes.push(...upgrade);
    return {
      model: out,
      record: { pass: 'clean-fp32', params, stats: { nodesBefore: before, nodesAfter: countNodes(out), nodesRemoved: removed, ...counts }, skipped: [], notes },
    };
  },
};

function countNodes(m: Model): number {
  return graphsOf(m).reduce((a, g) => a + g.nodes.length, 0);
}
