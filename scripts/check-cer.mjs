#!/usr/bin/env node
// An independent check of the CER edgefit reports for a text recogniser on an image folder: reads the
// folder's labels.jsonl and task.json, decodes and resizes each image with @napi-rs/canvas, runs each
// model with onnxruntime-node directly (no edgefit code), greedy-decodes the CTC output with the task's
// dictionary and computes the corpus CER (total edits / total reference characters) per model, with
// spaces and with all whitespace removed from both texts.
// One image per run, padded to max(spec width, its own width): compare with `edgefit eval … -b 1`.
//   node scripts/check-cer.mjs <folder with task.json> <dictionary.txt> <model.onnx> [model.onnx …]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import * as ort from 'onnxruntime-node';

const [dir, dictPath, ...models] = process.argv.slice(2);
if (!dir || !dictPath || !models.length) throw new Error('usage: check-cer.mjs <folder> <dictionary.txt> <model.onnx> [model.onnx …]');
const task = JSON.parse(readFileSync(join(dir, 'task.json'), 'utf8'));
const p = task.preprocess;
if (p.resize !== 'keep-aspect' || p.layout !== 'NCHW' || p.channels !== 'BGR') throw new Error('this check handles keep-aspect NCHW BGR specs only');
const chars = readFileSync(dictPath, 'utf8').split(/\r?\n/);
if (chars.at(-1) === '') chars.pop();
if (task.output.appendSpace) chars.push(' ');
const items = readFileSync(join(dir, 'labels.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));

async function tensorOf(file) {
  const img = await loadImage(join(dir, file));
  const h = p.height;
  const w = Math.min(Math.max(1, Math.ceil((h * img.width) / img.height)), p.width * 8);
  const canvas = createCanvas(w, h);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const W = Math.max(p.width, w);
  const x = new Float32Array(3 * h * W).fill(p.padValue);
  for (let y = 0; y < h; y++)
    for (let i = 0; i < w; i++) {
      const k = (y * w + i) * 4;
      const bgr = [rgba[k + 2], rgba[k + 1], rgba[k]];
      for (let c = 0; c < 3; c++) x[(c * h + y) * W + i] = (bgr[c] * p.scale - p.mean[c]) / p.std[c];
    }
  return new ort.Tensor('float32', x, [1, 3, h, W]);
}

function greedy(out) {
  const [, T, C] = out.dims;
  let s = '';
  let prev = -1;
  for (let t = 0; t < T; t++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (out.data[t * C + c] > out.data[t * C + best]) best = c;
    if (best !== prev && best !== task.output.blank) s += chars[best - 1] ?? '';
    prev = best;
  }
  return s;
}

function edits(a, b) {
  const x = [...a];
  const y = [...b];
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    row = next;
  }
  return row[y.length];
}

const inputs = [];
for (const it of items) inputs.push(await tensorOf(it.file));
for (const path of models) {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  let e = 0;
  let n = 0;
  let eNs = 0;
  let nNs = 0;
  const bare = (t) => t.split(/\s/).join('');
  for (let i = 0; i < items.length; i++) {
    const out = (await s.run({ [s.inputNames[0]]: inputs[i] }))[s.outputNames[0]];
    const got = greedy(out);
    e += edits(got, items[i].text);
    n += Math.max(1, [...items[i].text].length);
    eNs += edits(bare(got), bare(items[i].text));
    nNs += Math.max(1, [...bare(items[i].text)].length);
  }
  console.log(
    `${path}: CER ${(e / n).toFixed(4)} (${e} edits / ${n} characters, ${items.length} images); without spaces ${(eNs / nNs).toFixed(4)} (${eNs} / ${nNs})`,
  );
}
