// Fits a task to the model it will feed: the input name (the model's only input when the spec leaves
// it open) and the image layout (flat for a rank-2 input, NHWC for a channels-last one). Used by the
// evaluator and by calibration, so both feed a model the same tensors.

import { EdgefitError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import type { Task } from './task.js';
import type { TaskSpec } from './spec.js';
import { sessionIO, type ModelIO } from './infer-spec.js';

/** Inputs and outputs of an ORT session, an IR model, or already as ModelIO. */
export function modelIO(m: ModelIO | Model | { inputMetadata: unknown; outputMetadata: unknown }): ModelIO {
  if ('inputMetadata' in m) return sessionIO(m);
  if ('graph' in m) {
    const g = m.graph;
    const shapeOf = (t: (typeof g.inputs)[number]['type']) => (t && t.kind === 'tensor' && t.shape ? t.shape : undefined);
    const io = (list: typeof g.inputs) => list.map((v) => ({ name: v.name, ...(shapeOf(v.type) ? { shape: shapeOf(v.type)! } : {}) }));
    return { inputs: io(g.inputs.filter((v) => !g.initializers.has(v.name))), outputs: io(g.outputs) };
  }
  return m;
}

export function fitTaskToModel(task: Task, io: ModelIO, notes: string[] = []): { task: Task; input: string } {
  const spec: TaskSpec = structuredClone(task.spec);
  const names = io.inputs.map((i) => i.name);
  let input = spec.input;
  if (spec.preprocess.kind === 'text') input = spec.preprocess.inputs.ids;
  if (input === undefined) {
    if (names.length !== 1)
      throw new EdgefitError(
        `the model has ${names.length} inputs (${names.join(', ')}) and the task does not say which one takes the data`,
        'E_TASK_MODEL',
        'set "input" in the task spec',
      );
    input = names[0]!;
  } else if (!names.includes(input)) {
    // built-in tasks name the input of the model they were made for; another model's only input will do
    if (names.length === 1 && (task.spec.data?.format === 'builtin' || task.spec.data?.format === 'mnist')) {
      notes.push(`the task's input '${input}' is not in the model; using its only input '${names[0]}'`);
      input = names[0]!;
    } else {
      throw new EdgefitError(
        `the model has no input '${input}'; its inputs are ${names.join(', ')}`,
        'E_TASK_MODEL',
        'set "input" in the task spec to one of the model inputs',
      );
    }
  }
  if (spec.preprocess.kind !== 'text') spec.input = input;
  const shape = io.inputs.find((m) => m.name === input)?.shape;
  const p = spec.preprocess;
  if (p.kind === 'image' && shape) {
    const nc = p.channels === 'gray' ? 1 : 3;
    if (shape.length === 2 && p.layout !== 'flat') {
      notes.push(`the model input '${input}' has rank 2; images are flattened to [N, ${nc * p.height * p.width}]`);
      p.layout = 'flat';
    } else if (shape.length === 4 && p.layout === 'NCHW' && shape[1] !== nc && shape[3] === nc) {
      notes.push(`the model input '${input}' looks channels-last; using NHWC`);
      p.layout = 'NHWC';
    }
    checkImageShape(input, shape, p.layout, nc, p.height, p.width, p.resize === 'keep-aspect' && p.pad === 'batch-max');
  }
  return { task: task.withSpec(spec), input };
}

/**
 * The images the preprocessing makes must fit the model's fixed input dims; otherwise every batch
 * would fail inside ORT. Symbolic dims match anything; a batch-max padded width may grow.
 */
function checkImageShape(
  input: string,
  shape: readonly (number | string | undefined)[],
  layout: string,
  nc: number,
  h: number,
  w: number,
  widthGrows: boolean,
): void {
  const gives: number[] = layout === 'flat' ? [nc * h * w] : layout === 'NHWC' ? [h, w, nc] : [nc, h, w];
  const wAt = layout === 'flat' ? -1 : layout === 'NHWC' ? 1 : 2;
  const want = shape.slice(1);
  const fixed = (d: number | string | undefined): d is number => typeof d === 'number' && d > 0;
  const bad = want.length !== gives.length || want.some((d, i) => fixed(d) && d !== gives[i] && !(widthGrows && i === wAt && d >= gives[i]!));
  if (!bad) return;
  const what =
    layout === 'flat'
      ? `${nc} channel${nc === 1 ? '' : 's'} × ${h} × ${w} = ${nc * h * w} values`
      : `${layout}, ${nc} channel${nc === 1 ? '' : 's'}, ${h}×${w}`;
  throw new EdgefitError(
    `the model input '${input}' takes [${shape.map((d) => d ?? '?').join(', ')}] but the task's preprocessing gives [N, ${gives.join(', ')}] (${what})`,
    'E_TASK_MODEL',
    'set preprocess.channels ("gray" for one channel), height and width in the task spec to what the model takes',
  );
}
