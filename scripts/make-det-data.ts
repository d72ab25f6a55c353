// Real-looking inputs for the PaddleOCR text detector as a .npy: each sample is a 160×320 RGB "label"
// with one or two rendered serial-number lines (the built-in `serials` generator) on a plain background,
// normalised the way PaddleOCR's det preprocessing does ((x/255 − mean) / std, ImageNet mean/std), NCHW.
// Usage: node --import tsx scripts/make-det-data.ts <out.npy> [n=60] [seed=0]
import { writeFileSync } from 'node:fs';
import { createCanvas } from '@napi-rs/canvas';
import { serialSample } from '../src/data/generators/serials.js';
import { encodeNpy } from '../src/data/npy.js';
import { mulberry32 } from '../src/util/rng.js';

const [out, nArg, seedArg] = process.argv.slice(2);
if (!out) throw new Error('usage: make-det-data.ts <out.npy> [n] [seed]');
const n = Number(nArg ?? 60);
const seed = Number(seedArg ?? 0);
const H = 160;
const W = 320;
const mean = [0.485, 0.456, 0.406];
const std = [0.229, 0.224, 0.225];
const u = mulberry32(seed + 7);
const data = new Float32Array(n * 3 * H * W);
for (let i = 0; i < n; i++) {
  const c = createCanvas(W, H);
  const g = c.getContext('2d');
  const shade = 200 + Math.floor(u() * 50);
  g.fillStyle = `rgb(${shade},${shade},${shade - 10})`;
  g.fillRect(0, 0, W, H);
  const lines = 1 + Math.floor(u() * 2);
  for (let l = 0; l < lines; l++) {
    const s = serialSample(i * 2 + l, seed).canvas;
    const scale = Math.min(1, (W - 20) / s.width, 60 / s.height);
    g.drawImage(s, 10 + u() * 10, 10 + l * 70 + u() * 10, s.width * scale, s.height * scale);
  }
  const px = g.getImageData(0, 0, W, H).data;
  for (let ch = 0; ch < 3; ch++)
    for (let p = 0; p < H * W; p++) data[((i * 3 + ch) * H * W) + p] = (px[p * 4 + ch]! / 255 - mean[ch]!) / std[ch]!;
}
writeFileSync(out, encodeNpy(data, [n, 3, H, W]));
console.log(`wrote ${out}: ${n} samples [3, ${H}, ${W}]`);
