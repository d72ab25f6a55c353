#!/usr/bin/env node
// An independent check of a classifier's accuracy on an image folder (one subfolder per class, as
// `edgefit data make parts` writes it): decodes the PNGs with @napi-rs/canvas, resizes to the model's
// input (stretch), scales RGB as (x/255 - mean)/std, runs each model with onnxruntime-node directly (no
// edgefit code) and prints accuracy and recall per class. Classes are the model's output order. Usage:
//   node scripts/check-accuracy.mjs <folder> <class,class,…> <mean> <std> <model.onnx> [model.onnx …]
//   node scripts/check-accuracy.mjs /tmp/parts-s7 ok,scratch,dent,crack,missing 0.5 0.25 parts.onnx
// CHECK_BGR=1 feeds the channels in BGR order (PaddleOCR models); CHECK_SIZE=HxW sets the input size for
// models whose height and width are symbolic (default: the model's own, else 64×64).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import * as ort from 'onnxruntime-node';

const [dir, classList, meanArg, stdArg, ...models] = process.argv.slice(2);
if (!dir || !classList || !meanArg || !stdArg || !models.length) throw new Error('usage: check-accuracy.mjs <folder> <class,…> <mean> <std> <model.onnx> …');
const classes = classList.split(',');
const mean = Number(meanArg);
const std = Number(stdArg);
const bgr = process.env.CHECK_BGR === '1';
const size = process.env.CHECK_SIZE?.split('x').map(Number);
const items = classes.flatMap((c, label) => {
  try {
    return readdirSync(join(dir, c))
      .filter((f) => f.endsWith('.png'))
      .map((f) => ({ path: join(dir, c, f), label }));
  } catch {
    return [];
  }
});

async function tensorOf(path, h, w) {
  const cv = createCanvas(w, h);
  const ctx = cv.getContext('2d');
  ctx.drawImage(await loadImage(path), 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  const x = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let ch = 0; ch < 3; ch++) x[ch * h * w + i] = (px[i * 4 + (bgr ? 2 - ch : ch)] / 255 - mean) / std;
  return new ort.Tensor('float32', x, [1, 3, h, w]);
}

for (const m of models) {
  const s = await ort.InferenceSession.create(m, { intraOpNumThreads: 1 });
  const dims = s.inputMetadata?.[0]?.shape ?? [1, 3, 64, 64];
  const [h, w] = size ?? [Number(dims[2]) || 64, Number(dims[3]) || 64];
  const hit = classes.map(() => 0);
  const n = classes.map(() => 0);
  for (const it of items) {
    const out = await s.run({ [s.inputNames[0]]: await tensorOf(it.path, h, w) });
    const y = out[s.outputNames[0]].data;
    let best = 0;
    for (let k = 1; k < y.length; k++) if (y[k] > y[best]) best = k;
    n[it.label]++;
    if (best === it.label) hit[it.label]++;
  }
  const total = n.reduce((a, b) => a + b, 0);
  const right = hit.reduce((a, b) => a + b, 0);
  console.log(
    `${m}: accuracy ${(right / total).toFixed(4)} (${right}/${total}); recall ${classes.map((c, k) => `${c} ${(hit[k] / n[k]).toFixed(4)}`).join(', ')}`,
  );
}
