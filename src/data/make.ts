// Writes a built-in task's items as a dataset folder that any tool can read: PNG images in one
// subfolder per class (classification) or with a labels.jsonl of {"file","text"} (OCR), or a
// data.jsonl of {"text","label"} with its tokenizer.json (text), plus a
// task.json that points at the folder. Written to a temporary folder and renamed into place.

import { mkdirSync, writeFileSync, renameSync, rmSync, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { createCanvas, type Canvas, type Image } from '@napi-rs/canvas';
import { DataError } from './errors.js';
import { loadTask } from './task.js';
import { BUILTINS } from './builtin.js';
import { builtinTokenizerJson } from './bert-tokenizer.js';

export interface MakeOptions {
  out: string;
  n: number;
  seed: number;
  options?: Record<string, string | number | boolean>;
  onProgress?: (done: number, total: number) => void;
}

export interface MakeResult {
  out: string;
  items: number;
  layout: 'class-folders' | 'labels.jsonl' | 'data.jsonl';
  counts: Record<string, number>;
}

async function toPng(img: Image | Canvas): Promise<Buffer> {
  if ('encode' in img) return img.encode('png');
  const c = createCanvas(img.width, img.height);
  c.getContext('2d').drawImage(img, 0, 0);
  return c.encode('png');
}

export async function makeDataset(builtin: string, opts: MakeOptions): Promise<MakeResult> {
  const b = BUILTINS[builtin];
  if (!b) throw new DataError(`unknown built-in dataset '${builtin}'`, `choose one of: ${Object.keys(BUILTINS).join(', ')}`, 'E_USAGE');
  const out = resolve(opts.out);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new DataError(`${out} exists and is a file, not a folder`, 'choose a new --out folder');
  if (existsSync(out) && readdirSync(out).length > 0) throw new DataError(`${out} exists and is not empty`, 'choose a new --out folder, or remove this one');
  const task = await loadTask(builtin, { seed: opts.seed, limit: opts.n, ...(opts.options ? { options: opts.options } : {}) });
  const items = task.itemList();
  const ocr = task.spec.output.decode === 'ctc';
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  try {
    const parent = dirname(out);
    if (!existsSync(parent)) mkdirSync(parent, { recursive: true });
    else if (!statSync(parent).isDirectory()) throw new Error(`${parent} is a file`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp); // not recursive: Node's recursive mkdir loops forever in some virtual file systems (/proc)
  } catch (e) {
    throw new DataError(`cannot create the folder ${out}: ${(e as Error).message}`, 'choose an --out folder in a writable place');
  }
  const counts: Record<string, number> = {};
  let layout: MakeResult['layout'] = ocr ? 'labels.jsonl' : 'class-folders';
  try {
    const lines: string[] = [];
    const width = String(items.length - 1).length;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const loaded = await it.load();
      if (loaded.kind === 'text') {
        const label = it.label ?? loaded.label ?? 'unlabelled';
        lines.push(JSON.stringify({ text: loaded.text, label }));
        counts[label] = (counts[label] ?? 0) + 1;
        layout = 'data.jsonl';
      } else if (loaded.kind !== 'image') throw new Error(`built-in '${builtin}' gave a ${loaded.kind}, not an image or a text`);
      else await writeImage(tmp, `${builtin}-${String(i).padStart(width, '0')}.png`, loaded, it, ocr, counts, lines);
      opts.onProgress?.(i + 1, items.length);
    }
    const spec = structuredClone(task.spec);
    if (layout === 'data.jsonl') {
      writeFileSync(join(tmp, 'data.jsonl'), lines.join('\n') + '\n');
      spec.data = { format: 'jsonl', path: 'data.jsonl' };
      if (spec.preprocess.kind === 'text') {
        // the folder carries its own tokenizer.json, readable by any Hugging Face tokenizers build
        const json = builtinTokenizerJson(spec.preprocess.tokenizer);
        if (json) {
          writeFileSync(join(tmp, 'tokenizer.json'), JSON.stringify(json));
          spec.preprocess.tokenizer = 'tokenizer.json';
        }
      }
    } else {
      if (ocr) writeFileSync(join(tmp, 'labels.jsonl'), lines.join('\n') + '\n');
      spec.data = { format: 'image-folder', path: '.' };
    }
    spec.description = `${spec.description ?? builtin}; made by \`edgefit data make ${builtin} --n ${opts.n} --seed ${opts.seed}\``;
    writeFileSync(join(tmp, 'task.json'), JSON.stringify(spec, null, 2) + '\n');
    if (existsSync(out)) rmSync(out, { recursive: true });
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { out, items: items.length, layout, counts };
}

/** An image item: into images/ with a labels.jsonl line (OCR), or into its class's subfolder. */
async function writeImage(
  tmp: string,
  name: string,
  loaded: { image: Image | Canvas; label?: string; reference?: string },
  it: { label?: string; text?: string },
  ocr: boolean,
  counts: Record<string, number>,
  lines: string[],
): Promise<void> {
  const png = await toPng(loaded.image);
  if (ocr) {
    const text = it.text ?? loaded.reference ?? '';
    mkdirSync(join(tmp, 'images'), { recursive: true });
    writeFileSync(join(tmp, 'images', name), png);
    lines.push(JSON.stringify({ file: `images/${name}`, text }));
    counts.text = (counts.text ?? 0) + 1;
    return;
  }
  const label = it.label ?? loaded.label ?? 'unlabelled';
  mkdirSync(join(tmp, label), { recursive: true });
  writeFileSync(join(tmp, label, name), png);
  counts[label] = (counts[label] ?? 0) + 1;
}
