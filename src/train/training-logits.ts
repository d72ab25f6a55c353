// The frame logits a training stage reads, and the model that computes them. Usually the input of the
// output's Softmax. A head narrowed by prune-classes computes K of C classes and writes their
// probabilities into the full output with a ScatterElements after its Softmax; training then needs the
// full-width logits, so that the teacher's logits and the task's labels keep their class indices. The
// view adds them: the narrow logits scattered into a [..., C] tensor of NARROW_FILL (a dropped class
// has probability e^-10000 = 0, as in the output). Only the training copy gets these nodes; the trained
// weights go back into the model as it was (withWeights), so the exported head stays narrow.

import { attr, Node } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';

/** The score of a class a narrowed head dropped, where scores (not probabilities) are read. */
export const NARROW_FILL = -10000;

function outRank(model: Model, name: string): number {
  const t = model.graph.outputs.find((o) => o.name === name)?.type;
  return t?.kind === 'tensor' && t.shape ? t.shape.length : -1;
}

/** The Softmax over the last axis that produces `name`, if one does. */
function lastAxisSoftmax(model: Model, name: string, rank: number): Node | undefined {
  const p = model.graph.producers().get(name);
  return p && p.opType === 'Softmax' && p.isDefaultDomain && (p.int('axis', -1) === -1 || p.int('axis', -1) === rank - 1) ? p : undefined;
}

/** The parts of a narrowed head at output `out`: ScatterElements(ConstantOfShape(shape), indices, Softmax(z)). */
function narrowedHead(model: Model, out: string): { shape: string; indices: string; z: string } | undefined {
  const producers = model.graph.producers();
  const s = producers.get(out);
  if (s?.opType !== 'ScatterElements' || !s.isDefaultDomain) return undefined;
  const base = producers.get(s.inputs[0]!);
  const sm = lastAxisSoftmax(model, s.inputs[2]!, outRank(model, out));
  if (base?.opType !== 'ConstantOfShape' || !sm || s.int('axis', 0) !== -1) return undefined;
  return { shape: base.inputs[0]!, indices: s.inputs[1]!, z: sm.inputs[0]! };
}

/** The tensor to train on as frame logits, and the model that computes it (`model` itself unless the head is narrowed). */
export function trainingLogits(model: Model): { model: Model; logits: string } {
  const out = model.graph.outputs[0]!.name;
  const sm = lastAxisSoftmax(model, out, outRank(model, out));
  if (sm) return { model, logits: sm.inputs[0]! };
  const head = narrowedHead(model, out);
  if (!head) return { model, logits: out };
  const view = model.clone();
  const fresh = view.graph.namer();
  const fill = fresh('training.narrow_fill');
  const logits = fresh('training.full_logits');
  view.graph.nodes.push(
    new Node('ConstantOfShape', [head.shape], [fill], fresh('training/narrow_fill'), '', {
      value: attr.tensor(Tensor.fromFloat32('value', [1], Float32Array.of(NARROW_FILL))),
    }),
    new Node('ScatterElements', [fill, head.indices, head.z], [logits], fresh('training/full_logits'), '', { axis: attr.int(-1) }),
  );
  return { model: view, logits };
}

/** A model whose one output is the training logits (for running a teacher): trainingLogits' model, never `model` itself. */
export function logitsModel(model: Model): { model: Model; logits: string } {
  const v = trainingLogits(model);
  const m = v.model === model ? model.clone() : v.model;
  m.graph.outputs = [{ name: v.logits }];
  return { model: m, logits: v.logits };
}
