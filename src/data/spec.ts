// The task spec: what a model's input looks like (preprocessing or tokenization), how to read its output
// (classes, CTC text, embedding), where the data is, and which metric decides. Validated field by field;
// unknown keys are an error that names the key and the closest known one. Documented in docs/task-spec.md.

import { TaskSpecError } from './errors.js';
import type { SplitFractions } from './rng.js';
import { closest } from '../util/text.js';

export interface ImagePreprocess {
  kind: 'image';
  /** Target height and width in pixels. With resize 'keep-aspect', width is the padded width. */
  height: number;
  width: number;
  /** stretch: to height×width; keep-aspect: to the height, width scaled and capped, right-padded; cover: scale to cover then center-crop; none: must already match. */
  resize: 'stretch' | 'keep-aspect' | 'cover' | 'none';
  /** keep-aspect only: pad every image to `width` ('fixed'), or to the widest in the batch, at least `width` ('batch-max'). */
  pad: 'fixed' | 'batch-max';
  /** Value of padded pixels, after normalisation. */
  padValue: number;
  channels: 'RGB' | 'BGR' | 'gray';
  layout: 'NCHW' | 'NHWC' | 'flat';
  /** x = (pixel * scale - mean[c]) / std[c]; pixel in 0..255. */
  scale: number;
  mean: number[];
  std: number[];
  dtype: 'float32' | 'uint8';
}

export interface TextPreprocess {
  kind: 'text';
  /** Path to a Hugging Face tokenizer.json. */
  tokenizer: string;
  maxLength: number;
  /** Model input names for token ids, attention mask and token type ids. */
  inputs: { ids: string; mask?: string; typeIds?: string };
}

export interface TensorPreprocess {
  kind: 'tensor';
  dtype: 'float32' | 'int64' | 'int32' | 'uint8';
}

export type Preprocess = ImagePreprocess | TextPreprocess | TensorPreprocess;

export interface ClassesOutput {
  decode: 'classes';
  /** Output name; default the model's first output. */
  name?: string;
  classes: string[];
  /** softmax: apply it; none: outputs are probabilities; auto: apply it unless rows already sum to 1. */
  activation: 'auto' | 'softmax' | 'none';
}

export interface CtcOutput {
  decode: 'ctc';
  name?: string;
  /** A character dictionary file, one character a line, or the built-in 'ppocr_keys_v1'. */
  dictionary: string;
  /** Index of the CTC blank. PaddleOCR: 0, then the dictionary, then a space if appendSpace. */
  blank: number;
  appendSpace: boolean;
}

export interface EmbeddingOutput {
  decode: 'embedding';
  name?: string;
}

export type OutputSpec = ClassesOutput | CtcOutput | EmbeddingOutput;

export type DataFormat = 'image-folder' | 'jsonl' | 'csv' | 'mnist' | 'npy' | 'builtin';

export interface DataSpec {
  format: DataFormat;
  /** Folder or file; relative to the spec file. */
  path?: string;
  /** For format 'builtin': the generator. */
  builtin?: string;
  /** Generator options (builtin), e.g. { "defectRate": 0.05 }. */
  options?: Record<string, number | string | boolean>;
  /** Number of generated items (builtin) when no limit is given. */
  size?: number;
  splits?: SplitFractions;
}

export const METRICS = ['accuracy', 'macro-f1', 'recall', 'ece', 'cer', 'exact-match', 'cosine', 'top1-agreement'] as const;
export type MetricName = (typeof METRICS)[number];

export interface TaskSpec {
  name: string;
  /** Model input name; default the model's only input. */
  input?: string;
  data?: DataSpec;
  preprocess: Preprocess;
  output: OutputSpec;
  metric: MetricName;
  /** recall: the class whose recall is the primary metric (the rare defect). */
  metricClass?: string;
  /** cer / exact-match: compare with all whitespace removed. */
  ignoreWhitespace?: boolean;
  description?: string;
}

// --- validation: fields as rows of a table ------------------------------------------------------

type Field =
  | { t: 'string'; req?: boolean; values?: readonly string[] }
  | { t: 'number'; req?: boolean; min?: number; max?: number; int?: boolean }
  | { t: 'boolean'; req?: boolean }
  | { t: 'numbers'; req?: boolean }
  | { t: 'strings'; req?: boolean }
  | { t: 'object'; req?: boolean; fields: Record<string, Field> }
  | { t: 'record'; req?: boolean };

const IMAGE: Record<string, Field> = {
  kind: { t: 'string', req: true, values: ['image'] },
  // an image side beyond 16384 pixels is a typo, not a model input (and would not fit in memory)
  height: { t: 'number', req: true, min: 1, max: 16384, int: true },
  width: { t: 'number', req: true, min: 1, max: 16384, int: true },
  resize: { t: 'string', values: ['stretch', 'keep-aspect', 'cover', 'none'] },
  pad: { t: 'string', values: ['fixed', 'batch-max'] },
  padValue: { t: 'number' },
  channels: { t: 'string', values: ['RGB', 'BGR', 'gray'] },
  layout: { t: 'string', values: ['NCHW', 'NHWC', 'flat'] },
  scale: { t: 'number' },
  mean: { t: 'numbers' },
  std: { t: 'numbers' },
  dtype: { t: 'string', values: ['float32', 'uint8'] },
};
const TEXT: Record<string, Field> = {
  kind: { t: 'string', req: true, values: ['text'] },
  tokenizer: { t: 'string', req: true },
  maxLength: { t: 'number', min: 1, int: true },
  inputs: { t: 'object', fields: { ids: { t: 'string', req: true }, mask: { t: 'string' }, typeIds: { t: 'string' } } },
};
const TENSOR: Record<string, Field> = {
  kind: { t: 'string', req: true, values: ['tensor'] },
  dtype: { t: 'string', values: ['float32', 'int64', 'int32', 'uint8'] },
};
const OUT_CLASSES: Record<string, Field> = {
  decode: { t: 'string', req: true, values: ['classes'] },
  name: { t: 'string' },
  classes: { t: 'strings' },
  activation: { t: 'string', values: ['auto', 'softmax', 'none'] },
};
const OUT_CTC: Record<string, Field> = {
  decode: { t: 'string', req: true, values: ['ctc'] },
  name: { t: 'string' },
  dictionary: { t: 'string', req: true },
  blank: { t: 'number', min: 0, int: true },
  appendSpace: { t: 'boolean' },
};
const OUT_EMB: Record<string, Field> = { decode: { t: 'string', req: true, values: ['embedding'] }, name: { t: 'string' } };
const DATA: Record<string, Field> = {
  format: { t: 'string', req: true, values: ['image-folder', 'jsonl', 'csv', 'mnist', 'npy', 'builtin'] },
  path: { t: 'string' },
  builtin: { t: 'string' },
  options: { t: 'record' },
  size: { t: 'number', min: 1, int: true },
  splits: {
    t: 'object',
    fields: { train: { t: 'number', req: true, min: 0 }, val: { t: 'number', req: true, min: 0 }, test: { t: 'number', req: true, min: 0 } },
  },
};
const TOP: Record<string, Field> = {
  name: { t: 'string', req: true },
  input: { t: 'string' },
  data: { t: 'object', fields: DATA },
  preprocess: { t: 'record', req: true },
  output: { t: 'record', req: true },
  metric: { t: 'string', req: true, values: METRICS },
  metricClass: { t: 'string' },
  ignoreWhitespace: { t: 'boolean' },
  description: { t: 'string' },
  $schema: { t: 'string' },
};

function check(obj: unknown, fields: Record<string, Field>, where: string): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new TaskSpecError(`${where} must be an object`);
  const o = obj as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(key in fields)) {
      const near = closest(key, Object.keys(fields), true);
      throw new TaskSpecError(
        `unknown key '${where}.${key}' in the task spec${near ? ` (did you mean '${near}'?)` : ''}`,
        `known keys of ${where}: ${Object.keys(fields).join(', ')}`,
      );
    }
  }
  for (const [key, f] of Object.entries(fields)) {
    const v = o[key];
    const at = `${where}.${key}`;
    if (v === undefined) {
      if (f.req) throw new TaskSpecError(`the task spec is missing '${at}'`);
      continue;
    }
    switch (f.t) {
      case 'string':
        if (typeof v !== 'string') throw new TaskSpecError(`'${at}' must be a string, got ${JSON.stringify(v)}`);
        if (f.values && !f.values.includes(v)) {
          const near = closest(v, [...f.values], true);
          throw new TaskSpecError(`'${at}' must be one of ${f.values.join(', ')}; got '${v}'${near ? ` (did you mean '${near}'?)` : ''}`);
        }
        break;
      case 'number':
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new TaskSpecError(`'${at}' must be a number, got ${JSON.stringify(v)}`);
        if (f.int && !Number.isInteger(v)) throw new TaskSpecError(`'${at}' must be a whole number, got ${v}`);
        if (f.min !== undefined && v < f.min) throw new TaskSpecError(`'${at}' must be at least ${f.min}, got ${v}`);
        if (f.max !== undefined && v > f.max) throw new TaskSpecError(`'${at}' must be at most ${f.max}, got ${v}`);
        break;
      case 'boolean':
        if (typeof v !== 'boolean') throw new TaskSpecError(`'${at}' must be true or false, got ${JSON.stringify(v)}`);
        break;
      case 'numbers':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) throw new TaskSpecError(`'${at}' must be an array of numbers`);
        break;
      case 'strings':
        if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new TaskSpecError(`'${at}' must be an array of strings`);
        break;
      case 'object':
        check(v, f.fields, at);
        break;
      case 'record':
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TaskSpecError(`'${at}' must be an object`);
        break;
    }
  }
  return o;
}

const named = (o: Record<string, unknown>) => (typeof o.name === 'string' ? { name: o.name } : {});

/** Validates a parsed task spec JSON and fills in defaults. */
export function validateSpec(json: unknown): TaskSpec {
  const o = check(json, TOP, 'spec');
  const pre = o.preprocess as Record<string, unknown>;
  const kind = pre.kind;
  let preprocess: Preprocess;
  if (kind === 'image') {
    check(pre, IMAGE, 'spec.preprocess');
    const p = pre as Partial<ImagePreprocess> & { height: number; width: number };
    const channels = p.channels ?? 'RGB';
    const nc = channels === 'gray' ? 1 : 3;
    const mean = p.mean ?? new Array<number>(nc).fill(0);
    const std = p.std ?? new Array<number>(nc).fill(1);
    for (const [name, arr] of [
      ['mean', mean],
      ['std', std],
    ] as const)
      if (arr.length !== nc && arr.length !== 1)
        throw new TaskSpecError(`'spec.preprocess.${name}' has ${arr.length} values; ${channels} needs ${nc} (or 1 for all channels)`);
    if (std.some((s) => s === 0)) throw new TaskSpecError(`'spec.preprocess.std' must not contain 0`);
    preprocess = {
      kind: 'image',
      height: p.height,
      width: p.width,
      resize: p.resize ?? 'stretch',
      pad: p.pad ?? 'fixed',
      padValue: p.padValue ?? 0,
      channels,
      layout: p.layout ?? 'NCHW',
      scale: p.scale ?? 1 / 255,
      mean: mean.length === 1 ? new Array<number>(nc).fill(mean[0]!) : mean,
      std: std.length === 1 ? new Array<number>(nc).fill(std[0]!) : std,
      dtype: p.dtype ?? 'float32',
    };
  } else if (kind === 'text') {
    check(pre, TEXT, 'spec.preprocess');
    const p = pre as Partial<TextPreprocess> & { tokenizer: string };
    preprocess = { kind: 'text', tokenizer: p.tokenizer, maxLength: p.maxLength ?? 128, inputs: p.inputs ?? { ids: 'input_ids', mask: 'attention_mask' } };
  } else if (kind === 'tensor') {
    check(pre, TENSOR, 'spec.preprocess');
    preprocess = { kind: 'tensor', dtype: (pre.dtype as TensorPreprocess['dtype'] | undefined) ?? 'float32' };
  } else {
    throw new TaskSpecError(`'spec.preprocess.kind' must be one of image, text, tensor; got ${JSON.stringify(kind)}`);
  }

  const out = o.output as Record<string, unknown>;
  let output: OutputSpec;
  if (out.decode === 'classes') {
    check(out, OUT_CLASSES, 'spec.output');
    output = {
      decode: 'classes',
      ...named(out),
      classes: (out.classes as string[] | undefined) ?? [],
      activation: (out.activation as ClassesOutput['activation'] | undefined) ?? 'auto',
    };
    const names = (out.classes as string[] | undefined) ?? [];
    const dup = names.find((c, i) => names.indexOf(c) !== i);
    if (dup !== undefined) throw new TaskSpecError(`'spec.output.classes' lists '${dup}' twice`, "each class once, in the order of the model's outputs");
  } else if (out.decode === 'ctc') {
    check(out, OUT_CTC, 'spec.output');
    output = {
      decode: 'ctc',
      ...named(out),
      dictionary: out.dictionary as string,
      blank: (out.blank as number | undefined) ?? 0,
      appendSpace: (out.appendSpace as boolean | undefined) ?? true,
    };
  } else if (out.decode === 'embedding') {
    check(out, OUT_EMB, 'spec.output');
    output = { decode: 'embedding', ...named(out) };
  } else {
    throw new TaskSpecError(`'spec.output.decode' must be one of classes, ctc, embedding; got ${JSON.stringify(out.decode)}`);
  }

  const metric = o.metric as MetricName;
  const textMetric = metric === 'cer' || metric === 'exact-match';
  if (textMetric && output.decode !== 'ctc') throw new TaskSpecError(`metric '${metric}' needs output.decode 'ctc'; got '${output.decode}'`);
  if (['accuracy', 'macro-f1', 'recall', 'ece'].includes(metric) && output.decode !== 'classes')
    throw new TaskSpecError(`metric '${metric}' needs output.decode 'classes'; got '${output.decode}'`);
  if (metric === 'recall' && !o.metricClass) throw new TaskSpecError(`metric 'recall' needs 'metricClass': the class whose recall matters (e.g. "crack")`);
  if (o.metricClass !== undefined && output.decode === 'classes' && output.classes.length && !output.classes.includes(o.metricClass as string))
    throw new TaskSpecError(`'spec.metricClass' is '${o.metricClass}', which is not one of the classes ${output.classes.join(', ')}`);

  const spec: TaskSpec = { name: o.name as string, preprocess, output, metric };
  if (o.input !== undefined) spec.input = o.input as string;
  if (o.data !== undefined) spec.data = o.data as DataSpec;
  if (o.metricClass !== undefined) spec.metricClass = o.metricClass as string;
  if (o.ignoreWhitespace !== undefined) spec.ignoreWhitespace = o.ignoreWhitespace as boolean;
  if (o.description !== undefined) spec.description = o.description as string;
  return spec;
}
