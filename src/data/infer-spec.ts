// Task specs inferred from a model's inputs and outputs, for the models edgefit knows: PaddleOCR rec
// (CTC over 6625 classes), PaddleOCR text-direction cls ([N,2] over a [N,3,48,W] image) and MNIST-shaped
// classifiers ([N,1,28,28] or [N,784] → [N,10]). Anything else needs a spec file.

import type { TaskSpec } from './spec.js';
import { BUILTINS } from './builtin.js';

export interface ModelIO {
  inputs: { name: string; shape?: readonly (number | string | undefined)[] }[];
  outputs: { name: string; shape?: readonly (number | string | undefined)[] }[];
}

/** Input/output names and shapes from an ORT session's metadata. */
export function sessionIO(s: { inputMetadata: unknown; outputMetadata: unknown }): ModelIO {
  const list = (m: unknown) =>
    (m as readonly { name: string; shape?: readonly (number | string)[] }[]).map((x) => ({ name: x.name, ...(x.shape ? { shape: x.shape } : {}) }));
  return { inputs: list(s.inputMetadata), outputs: list(s.outputMetadata) };
}

/**
 * The spec for a known model, with a reason; null when the model is not one edgefit recognises. The
 * spec keeps the matching built-in task as its data, so it runs as is or with other data (`data`).
 */
export function inferSpec(io: ModelIO): { spec: TaskSpec; reason: string } | null {
  if (io.inputs.length !== 1 || io.outputs.length < 1) return null;
  const inp = io.inputs[0]!;
  const out = io.outputs[0]!;
  const ins = inp.shape ?? [];
  const outs = out.shape ?? [];
  const last = outs[outs.length - 1];
  const withIO = (name: string): TaskSpec => {
    const s = structuredClone(BUILTINS[name]!.spec);
    s.input = inp.name;
    s.output.name = out.name;
    return s;
  };
  if (ins.length === 4 && ins[1] === 3 && outs.length === 3 && last === 6625)
    return { spec: withIO('serials'), reason: 'a [N,3,H,W] image input and a [N,T,6625] output: PaddleOCR rec with the ppocr_keys_v1 dictionary' };
  if (ins.length === 4 && ins[1] === 3 && (ins[2] === 48 || typeof ins[2] !== 'number') && outs.length === 2 && last === 2)
    return { spec: withIO('serials-rotated'), reason: 'a [N,3,48,W] image input and a [N,2] output: PaddleOCR text direction classifier (0°, 180°)' };
  const mnistIn = (ins.length === 4 && ins[1] === 1 && ins[2] === 28 && ins[3] === 28) || (ins.length === 2 && ins[1] === 784);
  if (mnistIn && outs.length === 2 && last === 10) {
    const s = withIO('mnist');
    if (ins.length === 2 && s.preprocess.kind === 'image') s.preprocess.layout = 'flat';
    return { spec: s, reason: 'a 28×28 grey input and 10 outputs: an MNIST digit classifier' };
  }
  return null;
}
