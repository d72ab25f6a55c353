// The `serials` generator: part markings (lot codes, serial numbers, dates, part numbers) rendered in
// several fonts on brushed metal or paper labels, then skewed, blurred, noised and contrast-shifted.
// Item i of seed s is always the same image. `rotate` gives the 180° variant for orientation models.

import { createCanvas, type Canvas } from '@napi-rs/canvas';
import { Rng, hash32 } from '../rng.js';
import { markingFonts } from './fonts.js';

const L = 'ABCDEFGHJKLMNPRSTUVWXYZ';
const D = '0123456789';
const AN = L + D;

function chars(r: Rng, set: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += set[r.int(0, set.length - 1)];
  return s;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Marking templates: each draws one plausible industrial code. */
const TEMPLATES: ((r: Rng) => string)[] = [
  (r) => `LOT ${chars(r, L, 1)}${chars(r, D, 4)}-${chars(r, D, 2)}`,
  (r) => `SN ${chars(r, AN, 8)}`,
  (r) => `S/N: ${chars(r, D, 6)}${chars(r, L, 2)}`,
  (r) => `P/N ${chars(r, D, 3)}-${chars(r, D, 4)}-${chars(r, L, 1)}`,
  (r) => `${2019 + r.int(0, 7)}-${pad2(r.int(1, 12))}-${pad2(r.int(1, 28))}`,
  (r) => `MFG ${pad2(r.int(1, 12))}/${2019 + r.int(0, 7)}`,
  (r) => `${chars(r, L, 2)}${chars(r, D, 6)}`,
  (r) => `REV ${chars(r, L, 1)} ${chars(r, D, 2)}.${chars(r, D, 2)}`,
  (r) => `EXP ${pad2(r.int(1, 28))}.${pad2(r.int(1, 12))}.${pad2(r.int(24, 30))}`,
  (r) => `${chars(r, D, 4)} ${chars(r, D, 4)} ${chars(r, D, 2)}`,
];

export interface SerialSample {
  canvas: Canvas;
  text: string;
  rotated: boolean;
}

export interface SerialOptions {
  /** Probability that an item is rotated 180° (the rotated variant uses 0.5). */
  rotate?: number;
  /** 0 = clean, 1 = default degradations, 2 = hard. */
  difficulty?: number;
}

export function serialSample(index: number, seed: number, opts: SerialOptions = {}): SerialSample {
  const r = new Rng(hash32(`serials:${index}`, seed));
  const fonts = markingFonts();
  const hard = opts.difficulty ?? 1;
  const text = r.pick(TEMPLATES)(r);
  const font = r.pick(fonts);
  const size = r.int(26, 38);
  const probe = createCanvas(8, 8).getContext('2d');
  probe.font = `${size}px ${font}`;
  const tw = probe.measureText(text).width;
  const mx = r.int(8, 24);
  const W = Math.ceil(tw + 2 * mx);
  const H = Math.ceil(size * r.range(1.45, 1.9));
  const canvas = createCanvas(W, H);
  const ctx = canvas.getContext('2d');

  // background: brushed metal (grey, horizontal streaks) or a paper label (light, faint texture)
  const metal = r.chance(0.55);
  const base = metal ? r.int(120, 190) : r.int(205, 250);
  const tint = metal
    ? [0, 0, r.int(0, 10)]
    : r.pick([
        [0, 0, 0],
        [10, 5, -30],
        [-10, 0, 5],
      ]);
  const grad = ctx.createLinearGradient(0, 0, W, H);
  const g1 = base + r.int(-20, 20);
  grad.addColorStop(0, `rgb(${base + tint[0]!},${base + tint[1]!},${base + tint[2]!})`);
  grad.addColorStop(1, `rgb(${g1 + tint[0]!},${g1 + tint[1]!},${g1 + tint[2]!})`);
  ctx.fillStyle = grad;
  ctx.fillRect(0, 0, W, H);
  if (metal) {
    for (let k = 0; k < H * 3; k++) {
      const y = r.range(0, H);
      ctx.strokeStyle = `rgba(${r.chance(0.5) ? '255,255,255' : '0,0,0'},${r.range(0.03, 0.12)})`;
      ctx.lineWidth = r.range(0.5, 1.5);
      ctx.beginPath();
      const x0 = r.range(-W * 0.2, W);
      ctx.moveTo(x0, y);
      ctx.lineTo(x0 + r.range(W * 0.2, W), y + r.range(-1, 1));
      ctx.stroke();
    }
  }

  // text: printed ink, or engraved (dark with a light edge below-right)
  ctx.save();
  const skew = hard * r.range(-0.12, 0.12);
  const rot = hard * r.range(-0.03, 0.03);
  ctx.translate(W / 2, H / 2);
  ctx.rotate(rot);
  ctx.transform(1, 0, skew, 1, 0, 0);
  ctx.font = `${size}px ${font}`;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'center';
  const ink = metal ? r.int(10, 60) : r.int(0, 50);
  if (metal && r.chance(0.5)) {
    ctx.fillStyle = `rgba(255,255,255,${r.range(0.3, 0.6)})`;
    ctx.fillText(text, 1, 1);
  }
  ctx.fillStyle = `rgb(${ink},${ink},${ink + (metal ? 0 : r.int(0, 40))})`;
  ctx.fillText(text, 0, r.range(-1, 1));
  ctx.restore();

  // degradations on pixels: contrast, noise, blur
  const img = ctx.getImageData(0, 0, W, H);
  const px = img.data;
  const contrast = 1 - hard * r.range(0, 0.45);
  const noise = hard * r.range(2, 14);
  const mean = base;
  for (let i = 0; i < px.length; i += 4) {
    const n = r.normal() * noise;
    for (let c = 0; c < 3; c++) px[i + c] = (px[i + c]! - mean) * contrast + mean + n;
  }
  ctx.putImageData(img, 0, 0);
  let out: Canvas = canvas;
  const blur = hard * r.range(0, 1.3);
  if (blur > 0.3) {
    const b = createCanvas(W, H);
    const bctx = b.getContext('2d');
    bctx.filter = `blur(${blur.toFixed(2)}px)`;
    bctx.drawImage(canvas, 0, 0);
    out = b;
  }
  const rotated = r.chance(opts.rotate ?? 0);
  if (rotated) {
    const c = createCanvas(W, H);
    const cctx = c.getContext('2d');
    cctx.translate(W, H);
    cctx.rotate(Math.PI);
    cctx.drawImage(out, 0, 0);
    out = c;
  }
  return { canvas: out, text, rotated };
}
