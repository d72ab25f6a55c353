// Whole layers as graph segments. Walking the nodes in topological order, a *cut* is a point where only
// one tensor computed from the model's first input is still needed later: everything after it reads the
// input through that tensor alone (a residual block's output, a transformer sublayer's LayerNorm output,
// the tensor between two plain conv blocks). The nodes between two consecutive cuts a → b form a segment
// whose only activation input is a; where a and b have the same shape, the segment can be dropped by
// reading a wherever b was read. Tensors computed only from other inputs or constants (masks, shapes)
// do not count as live.

import { topoSort } from '../../onnx/graph-utils.js';
import type { Graph, Node } from '../../onnx/graph.js';

export interface Segment {
  /** The cut tensor the segment starts from, and the one it ends at. */
  from: string;
  to: string;
  /** The segment's nodes, in order; the last one produces `to`. */
  nodes: Node[];
  /** Conv/MatMul/Gemm nodes in it: what dropping it saves. */
  weighted: number;
}

const WEIGHTED = new Set(['Conv', 'MatMul', 'Gemm', 'ConvTranspose']);

/** Tensors whose value depends on the given input (forward closure over the sorted nodes). */
function dependents(nodes: readonly Node[], input: string): Set<string> {
  const dep = new Set([input]);
  for (const n of nodes) if (n.inputs.some((i) => dep.has(i))) for (const o of n.outputs) if (o) dep.add(o);
  return dep;
}

/** The cut tensors in order: the first input, then each tensor that is alone live between two nodes. */
export function cutTensors(graph: Graph): { order: Node[]; cuts: { tensor: string; at: number }[] } {
  const order = topoSort(graph);
  const input = graph.realInputs()[0]?.name;
  if (!input) return { order, cuts: [] };
  const dep = dependents(order, input);
  const lastUse = new Map<string, number>();
  order.forEach((n, k) => {
    for (const i of n.inputs) if (dep.has(i)) lastUse.set(i, k);
  });
  for (const o of graph.outputs) if (dep.has(o.name)) lastUse.set(o.name, order.length);
  const cuts: { tensor: string; at: number }[] = [{ tensor: input, at: -1 }];
  const live = new Set<string>([input]);
  for (let k = 0; k < order.length; k++) {
    for (const i of order[k]!.inputs) if (lastUse.get(i) === k) live.delete(i);
    for (const o of order[k]!.outputs) if (dep.has(o) && (lastUse.get(o) ?? -1) > k) live.add(o);
    if (live.size === 1) {
      const [t] = live;
      if (t !== cuts.at(-1)!.tensor) cuts.push({ tensor: t!, at: k });
    }
  }
  return { order, cuts };
}

/** The segments between consecutive cuts that contain at least one weighted node. */
export function layerSegments(graph: Graph): Segment[] {
  const { order, cuts } = cutTensors(graph);
  const out: Segment[] = [];
  for (let j = 1; j < cuts.length; j++) {
    const nodes = order.slice(cuts[j - 1]!.at + 1, cuts[j]!.at + 1);
    const weighted = nodes.filter((n) => WEIGHTED.has(n.opType)).length;
    if (weighted > 0) out.push({ from: cuts[j - 1]!.tensor, to: cuts[j]!.tensor, nodes, weighted });
  }
  return out;
}
