// A task: a spec plus the data it reads, streamed in batches of ready-made model feeds with their labels.
// loadTask takes a built-in name or a task spec JSON path; the data can be swapped with `data`.

import { existsSync } from 'node:fs';
import { readRegularFile } from './safe-read.js';
import { dirname, resolve, extname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BadItems, DataError, TaskSpecError, type OnBadItem, type SkippedItem } from './errors.js';
import { BUILTINS, checkBuiltinOptions } from './builtin.js';
import { UsageError } from '../onnx/errors.js';
import { imageFolder, textFile, npySource, mnistSource, type ImageFolderOptions, type Item, type Source } from './sources.js';
import { prepareImage, stackImages, type PreparedImage } from './image.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';
import { validateSpec, type TaskSpec, type ImagePreprocess } from './spec.js';
import { splitOf, DEFAULT_SPLIT, type Split } from './rng.js';
import { fitTaskToModel, modelIO } from './fit-task.js';

/** Named feeds for calibration, structurally the same as PassContext's Feeds (data sits below passes). */
export type Feeds = Record<string, { type: string; data: ArrayLike<number> | ArrayLike<bigint>; dims: readonly number[] }>;

/** A label: a class index (classification), a reference text (OCR), or null (unlabelled). */
export type Label = number | string | null;

export interface Batch {
  feeds: Record<string, ort.Tensor>;
  labels: Label[];
  ids: string[];
}

export interface LoadTaskOptions {
  /** A data folder or file that replaces the spec's data (format inferred from what it is). */
  data?: string;
  /** Seed of generated data and of the train/val/test assignment (default 0). */
  seed?: number;
  /** At most this many items (generated tasks: exactly this many). */
  limit?: number;
  /** Which split to keep (default 'all'). */
  split?: Split;
  /** What to do with an unreadable or mislabelled item (default 'error'). */
  onBadItem?: OnBadItem;
  /** Largest image decoded, in pixels (default 40 MP); a larger one is a bad item, refused from its header. */
  maxPixels?: number;
  /** Generator options for built-in tasks, e.g. { defectRate: 0.05 }. */
  options?: Record<string, number | string | boolean>;
}

export interface BatchOptions {
  batchSize: number;
  /** Only this split (of a task loaded with split 'all'). */
  split?: Split;
  /** Model input name, when the spec leaves it open (default: spec.input, else 'input'). */
  input?: string;
}

/** The code of the error for a task with items, none of them in the split asked for (too small to split). */
export const SPLIT_EMPTY = 'E_SPLIT_EMPTY';

export class Task {
  constructor(
    readonly name: string,
    readonly spec: TaskSpec,
    private readonly items: Item[],
    /** Class names, index = label value; empty for OCR and embedding tasks. */
    readonly classes: string[],
    readonly seed: number,
    readonly describe: string,
    private readonly bad: BadItems,
    /** The folder relative paths of the spec (data, dictionary, tokenizer) resolve against. */
    readonly baseDir: string,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** The item descriptors, in order (ids and labels; inputs load on demand). */
  itemList(): readonly Item[] {
    return this.items;
  }

  /** Items skipped so far because they were bad (only with onBadItem 'skip'). */
  get skipped(): SkippedItem[] {
    return this.bad.skipped;
  }

  /** The same data under a changed spec (e.g. the input name and layout a model wants). */
  withSpec(spec: TaskSpec): Task {
    return new Task(this.name, spec, this.items, this.classes, this.seed, this.describe, this.bad, this.baseDir);
  }

  async *batches(opts: BatchOptions): AsyncGenerator<Batch> {
    const bs = Math.max(1, Math.floor(opts.batchSize));
    const splits = this.spec.data?.splits ?? DEFAULT_SPLIT;
    const items = opts.split && opts.split !== 'all' ? this.items.filter((it) => splitOf(it.id, this.seed, splits) === opts.split) : this.items;
    const encoder = new FeedEncoder(this.spec, opts.input ?? this.spec.input ?? 'input', this.baseDir);
    let pending: { id: string; label: Label; input: Prepared }[] = [];
    for (const item of items) {
      const got = await this.prepare(item, encoder);
      if (got) pending.push(got);
      if (pending.length === bs) {
        yield encoder.batch(pending);
        pending = [];
        // a turn of the event loop lets native finalizers (decoded images, canvases) run
        await new Promise((r) => setImmediate(r));
      }
    }
    if (pending.length) yield encoder.batch(pending);
  }

  private async prepare(item: Item, enc: FeedEncoder): Promise<{ id: string; label: Label; input: Prepared } | null> {
    let loaded;
    try {
      loaded = await item.load();
    } catch (e) {
      const msg = (e as Error).message;
      const hint = msg.includes('image too large')
        ? 'pass --max-pixels with a larger limit if the image is genuine, or --on-bad-item skip'
        : 'check the file exists and is a PNG, JPEG or BMP image, or pass --on-bad-item skip';
      this.bad.report(item.id, msg, hint);
      return null;
    }
    let label: Label = null;
    const out = this.spec.output;
    if (out.decode === 'ctc') {
      const text = item.text ?? loaded.reference;
      if (text !== undefined) label = text;
    } else if (out.decode === 'classes') {
      const name = item.label ?? loaded.label;
      if (name !== undefined) {
        const k = this.classes.indexOf(name);
        if (k < 0) {
          this.bad.report(
            item.id,
            `unknown class '${name}' (the task's classes: ${this.classes.join(', ')})`,
            'add the class to output.classes in the task spec, fix the label, or pass --on-bad-item skip',
          );
          return null;
        }
        label = k;
      }
    }
    let input: Prepared;
    try {
      input = enc.prepare(loaded);
    } catch (e) {
      if (e instanceof DataError) throw e;
      this.bad.report(item.id, (e as Error).message);
      return null;
    }
    if (input.kind !== 'text') {
      const data = input.kind === 'image' ? input.image.chw : input.data;
      for (let i = 0; i < data.length; i++)
        if (!Number.isFinite(data[i]!)) {
          this.bad.report(
            item.id,
            `the input has ${Number.isNaN(data[i]!) ? 'NaN' : 'an infinite value'} at element ${i}`,
            'clean the data (NaN / Inf are not valid inputs), or pass --on-bad-item skip',
          );
          return null;
        }
    }
    return { id: item.id, label, input };
  }
}

type Prepared =
  | { kind: 'image'; image: PreparedImage }
  | { kind: 'text'; ids: number[]; mask: number[]; typeIds: number[] }
  | { kind: 'tensor'; data: number[]; dims: number[] };

/** Turns loaded items into prepared inputs, and prepared inputs into one batch of ORT tensors. */
class FeedEncoder {
  private tokenizer: TextTokenizer | null = null;
  constructor(
    private readonly spec: TaskSpec,
    private readonly input: string,
    baseDir: string,
  ) {
    if (spec.preprocess.kind === 'text') {
      const ref = spec.preprocess.tokenizer;
      this.tokenizer = loadTokenizer(ref.startsWith('builtin:') ? ref : resolve(baseDir, ref));
    }
  }

  prepare(loaded: Awaited<ReturnType<Item['load']>>): Prepared {
    const p = this.spec.preprocess;
    if (p.kind === 'image') {
      if (loaded.kind !== 'image')
        throw new DataError(`the task preprocesses images but the data gives ${loaded.kind}`, 'use an image folder, or change preprocess.kind');
      // resize 'none' stacks images as they are: one of another size is a bad item, not a broken batch
      if (p.resize === 'none' && (loaded.image.width !== p.width || loaded.image.height !== p.height))
        throw new Error(`the image is ${loaded.image.width}×${loaded.image.height}; preprocess.resize 'none' needs every image to be ${p.width}×${p.height}`);
      return { kind: 'image', image: prepareImage(loaded.image, p) };
    }
    if (p.kind === 'text') {
      if (loaded.kind !== 'text')
        throw new DataError(`the task tokenizes text but the data gives ${loaded.kind}`, 'use a JSONL or CSV text file, or change preprocess.kind');
      return { kind: 'text', ...this.tokenizer!.encode(loaded.text, p.maxLength) };
    }
    if (loaded.kind !== 'tensor') throw new DataError(`the task reads tensors but the data gives ${loaded.kind}`, 'use .npy data, or change preprocess.kind');
    return { kind: 'tensor', data: loaded.data, dims: loaded.dims };
  }

  batch(rows: { id: string; label: Label; input: Prepared }[]): Batch {
    const p = this.spec.preprocess;
    const feeds: Record<string, ort.Tensor> = {};
    const first = rows[0]!.input;
    if (p.kind === 'image') {
      const { data, dims } = stackImages(
        rows.map((r) => (r.input as { image: PreparedImage }).image),
        p,
      );
      feeds[this.input] =
        p.dtype === 'uint8'
          ? new ort.Tensor(
              'uint8',
              Uint8Array.from(data, (v) => Math.max(0, Math.min(255, Math.round(v)))),
              dims,
            )
          : new ort.Tensor('float32', data, dims);
    } else if (p.kind === 'text') {
      const texts = rows.map((r) => r.input as Extract<Prepared, { kind: 'text' }>);
      const T = Math.max(1, ...texts.map((t) => t.ids.length));
      const mk = (get: (t: (typeof texts)[number]) => number[]) => {
        const a = new BigInt64Array(texts.length * T);
        texts.forEach((t, n) => {
          for (const [j, v] of get(t).entries()) a[n * T + j] = BigInt(v);
        });
        return new ort.Tensor('int64', a, [texts.length, T]);
      };
      feeds[p.inputs.ids] = mk((t) => t.ids);
      if (p.inputs.mask) feeds[p.inputs.mask] = mk((t) => t.mask);
      if (p.inputs.typeIds) feeds[p.inputs.typeIds] = mk((t) => t.typeIds);
    } else {
      const dims = (first as Extract<Prepared, { kind: 'tensor' }>).dims;
      const per = dims.reduce((a, b) => a * b, 1);
      const all = rows.map((r) => r.input as Extract<Prepared, { kind: 'tensor' }>);
      const shape = [all.length, ...dims];
      const flat = all.flatMap((t) => t.data);
      if (flat.length !== per * all.length) throw new DataError(`tensor rows differ in size within a batch`);
      feeds[this.input] =
        p.dtype === 'int64'
          ? new ort.Tensor(
              'int64',
              BigInt64Array.from(flat, (v) => BigInt(Math.round(v))),
              shape,
            )
          : p.dtype === 'int32'
            ? new ort.Tensor('int32', Int32Array.from(flat), shape)
            : p.dtype === 'uint8'
              ? new ort.Tensor('uint8', Uint8Array.from(flat), shape)
              : new ort.Tensor('float32', Float32Array.from(flat), shape);
    }
    return { feeds, labels: rows.map((r) => r.label), ids: rows.map((r) => r.id) };
  }
}

/** Names of the built-in tasks. */
export function builtinTasks(): string[] {
  return Object.keys(BUILTINS);
}

/**
 * Loads a task: a built-in name ('serials', 'serials-rotated', 'parts', 'mnist'), a task spec JSON path,
 * or a spec object (validated the same way; relative paths resolve against the working directory).
 */
export async function loadTask(ref: string | TaskSpec, opts: LoadTaskOptions = {}): Promise<Task> {
  const seed = opts.seed ?? 0;
  // a negative limit would slice items off the end, 0 leaves nothing to score: both are mistakes
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit >= 1))
    throw new UsageError(`limit must be a whole number ≥ 1, got ${opts.limit}`, 'pass --limit 100, or leave it out to use every item');
  let spec: TaskSpec;
  let baseDir = process.cwd();
  if (typeof ref === 'object') {
    spec = validateSpec(JSON.parse(JSON.stringify(ref)));
  } else if (BUILTINS[ref]) {
    spec = structuredClone(BUILTINS[ref]!.spec);
  } else if (existsSync(ref) && extname(ref).toLowerCase() === '.json') {
    let json: unknown;
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(readRegularFile(ref));
    } catch (e) {
      throw new TaskSpecError(`${ref}: cannot be read as UTF-8 text: ${(e as Error).message}`, 'pass a task spec .json file');
    }
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new TaskSpecError(`${ref}: not valid JSON: ${(e as Error).message}`);
    }
    try {
      spec = validateSpec(json);
    } catch (e) {
      if (e instanceof TaskSpecError) throw new TaskSpecError(`${ref}: ${e.message}`, e.hint);
      throw e;
    }
    baseDir = dirname(resolve(ref));
  } else {
    throw new TaskSpecError(
      existsSync(ref) ? `${ref} is not a .json task spec` : `unknown task '${ref}': not a built-in task and no such file`,
      `built-in tasks: ${builtinTasks().join(', ')}; or give the path to a task spec .json`,
    );
  }
  const bad = new BadItems(opts.onBadItem ?? 'error');
  const { source, generated } = await openSource(spec, opts, baseDir, seed);
  // classes: the spec's list wins; else what the data shows
  const classes = spec.output.decode === 'classes' ? (spec.output.classes.length ? spec.output.classes : source.classes) : [];
  if (spec.output.decode === 'classes' && spec.output.classes.length === 0) spec.output.classes = classes;
  if (spec.output.decode === 'classes' && classes.length === 0)
    throw new DataError(`task '${spec.name}' classifies but neither the spec nor the data names any class`, 'list output.classes in the task spec');
  const split = opts.split ?? 'all';
  const splits = spec.data?.splits ?? DEFAULT_SPLIT;
  let items = source.items;
  if (!generated) {
    if (split !== 'all') items = items.filter((it) => splitOf(it.id, seed, splits) === split);
    if (opts.limit !== undefined) items = items.slice(0, opts.limit);
  }
  if (items.length === 0)
    throw new DataError(
      `task '${spec.name}' has no items${split !== 'all' ? ` in the '${split}' split` : ''} (${source.describe})`,
      'add data, or choose another split',
      split !== 'all' && source.items.length > 0 ? SPLIT_EMPTY : 'E_DATA',
    );
  return new Task(spec.name, spec, items, classes, seed, source.describe, bad, baseDir);
}

async function openSource(spec: TaskSpec, opts: LoadTaskOptions, baseDir: string, seed: number): Promise<{ source: Source; generated: boolean }> {
  const d = spec.data;
  const isBuiltin = opts.data === undefined && (d?.format === 'builtin' || d?.format === 'mnist');
  if (!isBuiltin && opts.options && Object.keys(opts.options).length > 0)
    throw new UsageError(
      `generator options (${Object.keys(opts.options).join(', ')}) apply only to a built-in generated task; task '${spec.name}' reads ${opts.data !== undefined ? opts.data : 'its data files'}`,
      'leave out --option, or use a built-in task (serials, serials-rotated, parts)',
    );
  if (opts.data !== undefined) return { source: await openPath(resolve(opts.data), spec, opts), generated: false };
  if (!d) throw new DataError(`task '${spec.name}' names no data`, 'pass --data <folder|file>, or add "data" to the task spec');
  if (d.format === 'builtin' || d.format === 'mnist') {
    const name = d.format === 'mnist' ? 'mnist' : d.builtin;
    const b = name ? BUILTINS[name] : undefined;
    if (!b) throw new TaskSpecError(`data.builtin '${String(name)}' is not a built-in generator (${builtinTasks().join(', ')})`);
    checkBuiltinOptions(name!, { ...(d.options ?? {}), ...(opts.options ?? {}) });
    if (!b.item) {
      const src = mnistSource();
      return { source: src, generated: false };
    }
    const count = opts.limit ?? d.size ?? b.defaultSize;
    const split = opts.split ?? 'all';
    const splits = d.splits ?? DEFAULT_SPLIT;
    const options = { ...(d.options ?? {}), ...(opts.options ?? {}) };
    const items: Item[] = [];
    // generated items are assigned to splits by id like files are, so the splits never overlap
    for (let i = 0; items.length < count; i++) if (split === 'all' || splitOf(String(i), seed, splits) === split) items.push(b.item(i, seed, options));
    return {
      source: { items, classes: spec.output.decode === 'classes' ? spec.output.classes : [], describe: `generated '${name}' (seed ${seed})` },
      generated: true,
    };
  }
  if (!d.path) throw new TaskSpecError(`data.format '${d.format}' needs data.path`, 'or pass --data');
  const path = resolve(baseDir, d.path);
  if (d.format === 'image-folder') return { source: await imageFolder(path, imageOptions(opts)), generated: false };
  if (d.format === 'npy') return { source: npySource(path, spec.output.decode === 'classes' ? spec.output.classes : []), generated: false };
  return { source: await textFile(path), generated: false };
}

/** Infers the reader from what the path is: a .npy, a .jsonl/.csv, or an image folder. */
async function openPath(path: string, spec: TaskSpec, opts: LoadTaskOptions): Promise<Source> {
  const ext = extname(path).toLowerCase();
  if (!existsSync(path)) throw new DataError(`data not found: ${path}`, 'pass an existing folder or file to --data');
  if (ext === '.npy' || existsSync(resolve(path, 'inputs.npy'))) return npySource(path, spec.output.decode === 'classes' ? spec.output.classes : []);
  if (ext === '.jsonl' || ext === '.csv') return textFile(path);
  return imageFolder(path, imageOptions(opts));
}

function imageOptions(opts: LoadTaskOptions): ImageFolderOptions {
  if (opts.maxPixels !== undefined && !(Number.isInteger(opts.maxPixels) && opts.maxPixels >= 1))
    throw new UsageError(`max pixels must be a whole number ≥ 1, got ${opts.maxPixels}`, 'pass --max-pixels 40000000 (40 MP, the default)');
  return opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {};
}

/**
 * Calibration data for passes: a fresh stream of up to n items (batches of `batchSize`, default 1) on
 * each call, in the shape of PassContext.calibration. Pass the model (IR Model, ORT session or ModelIO)
 * so the feeds get its input name and layout (a [N,784] MLP gets flattened images). Load the task with
 * split 'train' so that calibration and evaluation on 'test' never share items.
 */
export function calibrationFeeds(
  task: Task,
  n: number,
  opts: { input?: string; batchSize?: number; model?: Parameters<typeof modelIO>[0] } = {},
): () => AsyncIterable<Feeds> {
  const fitted = opts.model ? fitTaskToModel(task, modelIO(opts.model)) : { task, input: opts.input };
  return async function* () {
    let count = 0;
    const bs = Math.max(1, Math.min(opts.batchSize ?? 1, n));
    for await (const b of fitted.task.batches({ batchSize: bs, ...(fitted.input ? { input: fitted.input } : {}) })) {
      const feeds: Feeds = {};
      for (const [name, t] of Object.entries(b.feeds)) feeds[name] = { type: t.type, data: t.data as ArrayLike<number> | ArrayLike<bigint>, dims: t.dims };
      yield feeds;
      count += b.ids.length;
      if (count >= n) return;
    }
  };
}

export type { ImagePreprocess };
