// Which channel classes go: groups of coupled layers (a residual chain, a conv and the SE gate that
// multiplies it) keep the same number of channels; that number is rounded up to a multiple (ORT's
// kernels run faster on such widths); per-layer ratio, the ratio in the wide groups only, or one
// global ranking of normalised scores. The wide groups are where a CNN's late stages spend their time
// (PaddleOCR rec: the 240- and 480-channel blocks), and the narrow early ones are the most sensitive.

import type { Skipped } from '../pass.js';
import type { DependencyGraph } from './dependency-graph.js';

export interface GroupPlan {
  sources: string[];
  channels: number;
  kept: number;
  fixed: number;
}

export interface SelectOptions {
  ratio: number;
  /** Ratios for the groups of named layers (layer scope), overriding `ratio`. */
  layerRatios?: ReadonlyMap<string, number>;
  multiple: number;
  /** layer: the ratio in every group; wide: only in groups at least half as wide as the widest prunable one; global: one ranking. */
  scope: 'layer' | 'global' | 'wide';
  /** Source nodes whose groups are left alone. */
  exclude?: readonly string[];
}

interface Group {
  sources: DependencyGraph['sources'];
  classes: number[];
  /** Elements of one class within one source (head width for attention heads, else 1). */
  unit: number;
  score: Map<number, number>;
}

function groupsOf(dg: DependencyGraph, scores: Float64Array): Group[] {
  const { sets } = dg;
  const owner = new Map<number, number>();
  const parent = dg.sources.map((_, k) => k);
  const find = (k: number): number => {
    while (parent[k] !== k) k = parent[k]!;
    return k;
  };
  dg.sources.forEach((s, k) => {
    for (const id of s.ids) {
      const r = sets.find(id);
      const o = owner.get(r);
      if (o === undefined) owner.set(r, k);
      else parent[find(k)] = find(o);
    }
  });
  const byRoot = new Map<number, Group>();
  dg.sources.forEach((s, k) => {
    const r = find(k);
    let grp = byRoot.get(r);
    if (!grp) {
      grp = { sources: [], classes: [], unit: 1, score: new Map() };
      byRoot.set(r, grp);
    }
    grp.sources.push(s);
    const count = new Map<number, number>();
    for (const id of s.ids) {
      const c = sets.find(id);
      count.set(c, (count.get(c) ?? 0) + 1);
      if (!grp.score.has(c)) grp.classes.push(c);
      grp.score.set(c, (grp.score.get(c) ?? 0) + scores[id]!);
    }
    for (const v of count.values()) grp.unit = Math.max(grp.unit, v);
  });
  return [...byRoot.values()];
}

/** Keep count for a group of `total` classes after removing `want`, rounded up to `m`. */
function roundedKeep(total: number, want: number, m: number): number {
  const keep = Math.ceil((total - want) / m) * m;
  return Math.min(total, Math.max(keep, Math.min(m, total), 1));
}

/** Channels of the widest group that has a prunable channel and is not excluded. */
function widestPrunable(dg: DependencyGraph, groups: Group[], exclude: readonly string[] | undefined): number {
  let w = 0;
  for (const grp of groups)
    if (grp.classes.some((c) => !dg.sets.fixed(c)) && !grp.sources.some((s) => exclude?.includes(s.node.name))) w = Math.max(w, grp.classes.length);
  return w;
}

export function selectChannels(
  dg: DependencyGraph,
  scores: Float64Array,
  opts: SelectOptions,
): { removed: Set<number>; plans: GroupPlan[]; skipped: Skipped[] } {
  const removed = new Set<number>();
  const plans: GroupPlan[] = [];
  const skipped: Skipped[] = [];
  const groups = groupsOf(dg, scores);
  // global: one threshold over scores normalised by their group's mean
  let threshold = -Infinity;
  if (opts.scope === 'global') {
    const all: number[] = [];
    for (const grp of groups) {
      const mean = [...grp.score.values()].reduce((a, b) => a + b, 0) / grp.classes.length || 1;
      for (const c of grp.classes) if (!dg.sets.fixed(c)) all.push(grp.score.get(c)! / mean);
    }
    all.sort((a, b) => a - b);
    threshold = all[Math.floor(all.length * opts.ratio) - 1] ?? -Infinity;
  }
  const wide = opts.scope === 'wide' ? widestPrunable(dg, groups, opts.exclude) / 2 : 0;
  for (const grp of groups) {
    const names = grp.sources.map((s) => s.node.name || s.node.outputs[0]!);
    const free = grp.classes.filter((c) => !dg.sets.fixed(c));
    const fixed = grp.classes.length - free.length;
    const plan: GroupPlan = { sources: names, channels: grp.classes.length, kept: grp.classes.length, fixed };
    plans.push(plan);
    const first = grp.sources[0]!.node;
    if (opts.exclude && grp.sources.some((s) => opts.exclude!.includes(s.node.name))) {
      skipped.push({ node: first.name, opType: first.opType, reason: 'excluded by parameter' });
      continue;
    }
    if (fixed > 0) {
      const why = dg.sets.fixed(grp.classes.find((c) => dg.sets.fixed(c))!)!;
      skipped.push({ node: first.name, opType: first.opType, reason: `${fixed} of ${grp.classes.length} channels kept: ${why}` });
    }
    if (free.length === 0) continue;
    const mean = [...grp.score.values()].reduce((a, b) => a + b, 0) / grp.classes.length || 1;
    const own = grp.sources.map((s) => opts.layerRatios?.get(s.node.name)).find((r) => r !== undefined);
    const ratio = own ?? (grp.classes.length >= wide ? opts.ratio : 0);
    const want =
      opts.scope === 'global' && own === undefined ? free.filter((c) => grp.score.get(c)! / mean <= threshold).length : Math.floor(grp.classes.length * ratio);
    const m = grp.unit > 1 ? 1 : opts.multiple;
    const n = Math.min(free.length, grp.classes.length - roundedKeep(grp.classes.length, want, m));
    if (n <= 0) continue;
    const order = [...free].sort((a, b) => grp.score.get(a)! - grp.score.get(b)!);
    for (const c of order.slice(0, n)) removed.add(c);
    plan.kept = grp.classes.length - n;
  }
  return { removed, plans, skipped };
}
