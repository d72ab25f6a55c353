// Channel surgery: every recorded edit loses the indices of removed classes. Each edited constant gets a
// new initializer for its node, because one constant may be shared by layers pruned differently.

import { DataType } from '../../onnx/dtype.js';
import type { Model } from '../../onnx/model.js';
import { Tensor } from '../../onnx/tensor.js';
import { dropUnusedInitializers } from '../quant/graph.js';
import type { DependencyGraph } from './dependency-graph.js';
import { sliceTensor } from './slice-tensor.js';

export function applyEdits(model: Model, dg: DependencyGraph, removed: Set<number>): number {
  const g = model.graph;
  const fresh = g.namer();
  let edited = 0;
  for (const e of dg.edits) {
    const keep: number[] = [];
    e.ids.forEach((id, k) => {
      if (!removed.has(dg.sets.find(id))) keep.push(k);
    });
    if (keep.length === e.ids.length) continue;
    edited++;
    if (e.kind === 'group') {
      e.node.set('group', { type: 'int', value: keep.length });
      continue;
    }
    const name = e.node.inputs[e.input]!;
    const t = g.initializers.get(name);
    if (!t) throw new Error(`prune: ${e.node.name} input ${name} is no longer a constant`);
    const out = fresh(`${name}.pruned`);
    if (e.kind === 'slice') g.initializers.set(out, sliceTensor(t, e.axis, keep, out));
    else {
      const v = Array.from(t.toNumbers());
      v[e.axis] = keep.length;
      g.initializers.set(out, t.dataType === DataType.INT64 ? Tensor.fromInt64(out, t.dims, v) : Tensor.fromNumbers(out, t.dataType, t.dims, v));
    }
    e.node.inputs[e.input] = out;
  }
  if (edited) {
    dropUnusedInitializers(g);
    g.valueInfo.clear();
  }
  return edited;
}
