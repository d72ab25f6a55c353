// The training engine feeds one float32 input. A text model reads token ids (int64). Its float-fed view
// takes the same ids as float32 (exact below 2^24, far above any vocabulary) and casts them to int64
// first; training, recovery and pruning run on the view, and `idModel` takes the Cast out again, giving
// the model with its int64 input back, trained weights and pruned shapes included.

import { DataType } from '../onnx/dtype.js';
import { Node, attr } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';

const CAST_SUFFIX = '.as_int64';

/** The model with each int64 input taken as float32 and cast back inside; the input itself unchanged otherwise. */
export function floatIdView(model: Model): Model {
  const m = model.clone();
  const g = m.graph;
  for (const i of g.realInputs()) {
    if (i.type?.kind !== 'tensor' || i.type.elemType !== DataType.INT64) continue;
    const cast = `${i.name}${CAST_SUFFIX}`;
    for (const n of g.nodes) n.inputs = n.inputs.map((x) => (x === i.name ? cast : x));
    g.nodes.unshift(new Node('Cast', [i.name], [cast], `${i.name}/as_int64`, '', { to: attr.int(DataType.INT64) }));
    i.type = { ...i.type, elemType: DataType.FLOAT };
  }
  return m;
}

/** The inverse of floatIdView: the casts removed and their inputs int64 again. */
export function idModel(view: Model): Model {
  const m = view.clone();
  const g = m.graph;
  for (const i of g.realInputs()) {
    const cast = `${i.name}${CAST_SUFFIX}`;
    const at = g.nodes.findIndex((n) => n.opType === 'Cast' && n.inputs[0] === i.name && n.outputs[0] === cast);
    if (at < 0 || i.type?.kind !== 'tensor') continue;
    g.nodes.splice(at, 1);
    for (const n of g.nodes) n.inputs = n.inputs.map((x) => (x === cast ? i.name : x));
    i.type = { ...i.type, elemType: DataType.INT64 };
  }
  return m;
}

/** Whether the model's first real input is int64 (token ids), which training reads through floatIdView. */
export function readsIds(model: Model): boolean {
  const t = model.graph.realInputs()[0]?.type;
  return t?.kind === 'tensor' && t.elemType === DataType.INT64;
}
