// How much each channel matters, per element of the dependency graph: the L1 or L2 norm of the weights
// it owns (output rows of its layer and input columns of the next), or the |scale| of the BatchNorm
// that follows it. A class of coupled elements scores the sum over its members.

import type { Graph } from '../../onnx/graph.js';
import type { DependencyGraph } from './dependency-graph.js';

export type ImportanceMethod = 'l1' | 'l2' | 'bn' | 'taylor';

/** Per index along `axis`: Σ|w| (p = 1) or Σw² (p = 2). */
export function axisNorms(values: Float32Array | Float64Array, dims: readonly number[], axis: number, p: 1 | 2): Float64Array {
  const n = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < values.length; i++) {
    const k = Math.floor(i / inner) % n;
    const v = values[i]!;
    out[k]! += p === 1 ? Math.abs(v) : v * v;
  }
  return out;
}

/** Per index along `axis`: |Σ w·g| over the slice, the first-order Taylor estimate of the loss change on removing it. */
export function taylorNorms(w: Float32Array, g: Float32Array, dims: readonly number[], axis: number): Float64Array {
  const n = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < w.length; i++) out[Math.floor(i / inner) % n]! += w[i]! * g[i]!;
  return out.map(Math.abs);
}

/**
 * Score of each element (index = element id); elements without weights score 0. 'taylor' needs the
 * loss gradient of each weight (by initializer name), summed over task data (src/train/taylor-gradients.ts).
 */
export function elementScores(
  g: Graph,
  dg: DependencyGraph,
  method: ImportanceMethod,
  gradients?: ReadonlyMap<string, Float32Array>,
): { scores: Float64Array; hasBn: Uint8Array } {
  const scores = new Float64Array(dg.sets.size);
  const hasBn = new Uint8Array(dg.sets.size);
  const bn = new Float64Array(dg.sets.size);
  for (const e of dg.edits) {
    if (e.kind !== 'slice') continue;
    const t = g.initializers.get(e.node.inputs[e.input]!);
    if (!t) continue;
    if (e.role === 'bn-scale') {
      const v = t.toFloat32();
      e.ids.forEach((id, k) => {
        bn[id]! += Math.abs(v[k]!);
        hasBn[id] = 1;
      });
    } else if (e.role === 'weight-out' || e.role === 'weight-in') {
      const grad = gradients?.get(e.node.inputs[e.input]!);
      const norms =
        method === 'taylor' && grad ? taylorNorms(t.toFloat32(), grad, t.dims, e.axis) : axisNorms(t.toFloat32(), t.dims, e.axis, method === 'l1' ? 1 : 2);
      e.ids.forEach((id, k) => {
        scores[id]! += norms[k]!;
      });
    }
  }
  if (method === 'bn') for (let i = 0; i < scores.length; i++) if (hasBn[i]) scores[i] = bn[i]!;
  return { scores, hasBn };
}
