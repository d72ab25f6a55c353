// Samples of an OCR (CTC) task for training: the images, fitted to the model's input and padded to the
// preprocessing's fixed width (so a batch is one tensor), and each reference text as class indices of
// the task's alphabet (blank at its index, the dictionary around it). A text with a character outside
// the dictionary, or an item without a text, does not train.

import { loadCtcAlphabet } from '../data/dictionary.js';
import { fitTaskToModel, modelIO } from '../data/fit-task.js';
import type { ImagePreprocess } from '../data/spec.js';
import type { Task } from '../data/task.js';
import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import type { CtcData } from './ctc-train.js';

export interface CtcSamples extends CtcData {
  texts: (string | undefined)[];
  blank: number;
  /** Classes of the alphabet (blank included): the model's output width must equal it. */
  alphabetSize: number;
  /** Samples whose text has a character outside the dictionary. */
  unknown: number;
}

/** Character → class index; the blank's slot (an empty string) is left out. */
export function alphabetIndex(alphabet: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  alphabet.forEach((ch, k) => {
    if (ch !== '' && !index.has(ch)) index.set(ch, k);
  });
  return index;
}

/** A text as class indices, one per character (code point); undefined when one is not in the alphabet. */
export function encodeText(text: string, index: ReadonlyMap<string, number>): Int32Array | undefined {
  const chars = [...text];
  const out = new Int32Array(chars.length);
  for (const [i, ch] of chars.entries()) {
    const k = index.get(ch);
    if (k === undefined) return undefined;
    out[i] = k;
  }
  return out;
}

export async function ctcSamples(task: Task, model: Model, opts: { limit?: number; preprocess?: Partial<ImagePreprocess> } = {}): Promise<CtcSamples> {
  const out = task.spec.output;
  if (out.decode !== 'ctc')
    throw new UsageError(
      `task '${task.name}' is not an OCR task (its output decodes '${out.decode}')`,
      'CTC trains on a task whose output.decode is ctc, e.g. serials',
    );
  const spec = structuredClone(task.spec);
  if (spec.preprocess.kind === 'image') spec.preprocess = { ...(spec.preprocess as ImagePreprocess), pad: 'fixed', ...opts.preprocess };
  const { task: fitted, input } = fitTaskToModel(task.withSpec(spec), modelIO(model));
  const alphabet = loadCtcAlphabet(out.dictionary, out.blank, out.appendSpace, task.baseDir);
  const index = alphabetIndex(alphabet);
  const limit = opts.limit ?? Infinity;
  const parts: Float32Array[] = [];
  const texts: (string | undefined)[] = [];
  let shape: number[] | undefined;
  for await (const b of fitted.batches({ batchSize: 32, input })) {
    const t = b.feeds[input]!;
    if (t.type !== 'float32') throw new UsageError(`task '${task.name}' does not give float32 inputs`, 'CTC training needs an image task');
    shape = t.dims.slice(1) as number[];
    parts.push(t.data as Float32Array);
    for (const l of b.labels) texts.push(typeof l === 'string' ? l : undefined);
    if (texts.length >= limit) break;
  }
  if (!shape) throw new UsageError(`task '${task.name}' has no items to train on`, 'give the task more items (--limit)');
  const n = Math.min(limit, texts.length);
  const s = shape.reduce((p, q) => p * q, 1);
  const x = new Float32Array(n * s);
  let at = 0;
  for (const p of parts) {
    const k = Math.min(p.length, x.length - at);
    x.set(p.subarray(0, k), at);
    at += k;
  }
  const kept = texts.slice(0, n);
  const labels = kept.map((text) => (text === undefined ? undefined : encodeText(text, index)));
  const unknown = labels.filter((l, i) => l === undefined && kept[i] !== undefined).length;
  return { x, sampleShape: shape, labels, texts: kept, blank: out.blank, alphabetSize: alphabet.length, unknown };
}
