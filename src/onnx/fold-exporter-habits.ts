// Folds exporter habits out of a model before any pass sees it: Constant nodes become initializers,
// then the rows of FOLD_RULES run over the main graph and every If/Loop/Scan body until nothing
// changes, then dead nodes go. The model is changed in place; the counts say what was done.

import { constantsToInitializers } from './constants.js';
import { FOLD_RULES } from './fold-rules.js';
import type { Graph } from './graph.js';
import { removeDeadNodes, topoSort } from './graph-utils.js';
import type { Model } from './model.js';
import { inferShapes } from './shape-inference.js';

export interface FoldResult {
  /** Rewrites per rule name (plus 'constant-nodes' and 'dead-nodes'). */
  counts: Record<string, number>;
  rounds: number;
}

const MAX_ROUNDS = 8;

export function foldExporterHabits(model: Model, opts: { rules?: string[] } = {}): FoldResult {
  const rules = opts.rules ? FOLD_RULES.filter((r) => opts.rules!.includes(r.name)) : FOLD_RULES;
  const counts: Record<string, number> = { 'constant-nodes': constantsToInitializers(model, { subgraphs: true }).converted };
  let rounds = 0;
  for (let changed = true; changed && rounds < MAX_ROUNDS; rounds++) {
    changed = false;
    const inferred = inferShapes(model);
    const graphs: { g: Graph; isMain: boolean }[] = [];
    model.graph.walk((g) => graphs.push({ g, isMain: g === model.graph }));
    for (const { g, isMain } of graphs)
      for (const rule of rules) {
        const k = rule.apply(g, { inferred, isMain });
        if (k) {
          counts[rule.name] = (counts[rule.name] ?? 0) + k;
          changed = true;
        }
      }
    counts['dead-nodes'] = (counts['dead-nodes'] ?? 0) + removeDeadNodes(model.graph).nodes;
  }
  topoSort(model.graph);
  return { counts, rounds };
}
