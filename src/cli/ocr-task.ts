// What the training commands need to handle an OCR (CTC) task: telling one from a classification task,
// its training samples with texts as labels, and a model's CER on held-out items with its interval.

import { loadTask, type Task } from '../data/task.js';
import type { ImagePreprocess } from '../data/spec.js';
import { evaluate, type EvalResult } from '../eval/evaluate.js';
import type { Model } from '../onnx/model.js';
import { createSession } from '../runtime/session.js';
import { ctcSamples, type CtcSamples } from '../train/ctc-data.js';

export interface HeldOut {
  metric: string;
  value: number;
  ci: [number, number];
  n: number;
  /** CER with all whitespace removed, where the task has one: spacing conventions apart, what was read. */
  withoutSpaces?: number;
}

/** Whether the task's output decodes CTC (an OCR task: its labels are texts). */
export async function isOcrTask(task: string, data?: string): Promise<boolean> {
  if (task === 'mnist') return false;
  return (await loadTask(task, { limit: 1, ...(data ? { data } : {}) })).spec.output.decode === 'ctc';
}

/** The task (one split) with the model's input normalisation in place of its own, when one is given. */
async function split(task: string, which: 'train' | 'test', seed: number, limit: number, preprocess?: Partial<ImagePreprocess>, data?: string): Promise<Task> {
  const t = await loadTask(task, { seed, split: which, limit, ...(data ? { data } : {}) });
  if (!preprocess || t.spec.preprocess.kind !== 'image') return t;
  const spec = structuredClone(t.spec);
  spec.preprocess = { ...(spec.preprocess as ImagePreprocess), ...preprocess };
  return t.withSpec(spec);
}

/** `limit` training items of the task (or of the data folder given for it), texts as class indices. */
export async function ocrTrainSamples(
  task: string,
  model: Model,
  opts: { seed: number; limit: number; preprocess?: Partial<ImagePreprocess>; data?: string },
): Promise<CtcSamples> {
  return ctcSamples(await split(task, 'train', opts.seed, opts.limit, opts.preprocess, opts.data), model, { limit: opts.limit });
}

/** The held-out items the models are scored on (the task's test split). */
export function ocrHeldOut(task: string, opts: { seed: number; limit: number; preprocess?: Partial<ImagePreprocess> }): Promise<Task> {
  return split(task, 'test', opts.seed, opts.limit, opts.preprocess);
}

/** An evaluation as the CLIs report it: the primary metric with its interval, and the CER without spaces where there is one. */
export function heldOutOf(r: EvalResult): HeldOut {
  const ws = r.metrics['cer-ignore-ws'];
  return { metric: r.primary.name, value: r.primary.value, ci: r.primary.ci, n: r.n, ...(ws ? { withoutSpaces: ws.value } : {}) };
}

/** The task's primary metric (CER for OCR) on the held-out items, with its 95% interval. */
export async function scoreHeldOut(model: Model, held: Task, threads: number): Promise<HeldOut> {
  const s = await createSession(model, { threads });
  try {
    return heldOutOf(await evaluate(s, held, { batchSize: 8 }));
  } finally {
    await s.release();
  }
}

export const fmtHeldOut = (q: HeldOut): string =>
  `${(q.value * 100).toFixed(2)}% [${(q.ci[0] * 100).toFixed(2)}, ${(q.ci[1] * 100).toFixed(2)}]` +
  (q.withoutSpaces !== undefined ? ` (${(q.withoutSpaces * 100).toFixed(2)}% without spaces)` : '');
