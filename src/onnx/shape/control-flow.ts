// If and Loop: their outputs come from the subgraphs' declarations. The rows are empty so that the ops
// count as known; inferGraph (infer.ts) reads the subgraph with controlFlowTypes.

import type { Node } from '../graph.js';
import { type Out, type RuleTable, fromValueType } from './types.js';

export const controlFlowRules: RuleTable = {
  If: () => [],
  Loop: () => [],
};

/** If: the then-branch's outputs. Loop: body outputs after cond; scan outputs gain a leading dim. */
export function controlFlowTypes(n: Node): Out | undefined {
  if (!n.isDefaultDomain) return undefined;
  if (n.opType === 'If') {
    const branch = n.attr('then_branch');
    return branch?.type === 'graph' ? { types: branch.value.outputs.map((o) => fromValueType(o.type)) } : undefined;
  }
  if (n.opType !== 'Loop') return undefined;
  // body: (iter, cond, carried…) → (cond, carried…, scan outputs…)
  const body = n.attr('body');
  if (body?.type !== 'graph') return undefined;
  const carried = Math.max(0, n.inputs.length - 2);
  return {
    types: body.value.outputs.slice(1).map((o, k) => {
      const t = fromValueType(o.type);
      return k < carried ? t : t && { elemType: t.elemType, shape: t.shape && [undefined, ...t.shape] };
    }),
  };
}
