// Where a model's logits are: its first output, or, when that output is a Softmax over the last axis
// (PaddleOCR rec ends so), the Softmax's input — distillation and the task loss want logits.

import type { Model } from '../onnx/model.js';
import { EdgefitError } from '../onnx/errors.js';

export function exposeLogits(source: Model): { model: Model; input: string; logits: string } {
  const model = source.clone();
  const g = model.graph;
  const out = g.outputs[0]?.name;
  const input = g.realInputs()[0]?.name;
  if (!out || !input) throw new EdgefitError('the model needs an input and an output', 'E_NO_OUTPUT');
  const p = g.producers().get(out);
  // a Softmax over the class axis (the last one in classifiers and CTC heads): its input is the logits
  const logits = p?.opType === 'Softmax' && p.isDefaultDomain ? p.inputs[0]! : out;
  return { model, input, logits };
}
