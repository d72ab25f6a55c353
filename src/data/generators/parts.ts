// The `parts` generator: top-down images of manufactured parts (washers, brackets, PCBs) on a conveyor
// background, each either ok or with one defect: scratch, dent (dark spot), crack, or a missing feature
// (a hole, a pad or a component). `defectRate` sets how rare defects are; defect classes share it evenly.

import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { Rng, hash32 } from '../rng.js';

export const PART_CLASSES = ['ok', 'scratch', 'dent', 'crack', 'missing'] as const;
export type PartClass = (typeof PART_CLASSES)[number];

export interface PartOptions {
  /** Fraction of defective items (default 0.5); the rest are ok. */
  defectRate?: number;
  /** Image side in pixels (default 64). */
  size?: number;
}

export interface PartSample {
  canvas: Canvas;
  label: PartClass;
  kind: 'washer' | 'bracket' | 'pcb';
}

export function partSample(index: number, seed: number, opts: PartOptions = {}): PartSample {
  const r = new Rng(hash32(`parts:${index}`, seed));
  const S = opts.size ?? 64;
  const rate = opts.defectRate ?? 0.5;
  const label: PartClass = r.chance(rate) ? PART_CLASSES[1 + r.int(0, 3)]! : 'ok';
  const kind = r.pick(['washer', 'bracket', 'pcb'] as const);
  const canvas = createCanvas(S, S);
  const ctx = canvas.getContext('2d');
  const bg = r.int(40, 90);
  ctx.fillStyle = `rgb(${bg},${bg + r.int(0, 10)},${bg + r.int(0, 15)})`;
  ctx.fillRect(0, 0, S, S);

  ctx.save();
  ctx.translate(S / 2 + r.range(-2, 2), S / 2 + r.range(-2, 2));
  ctx.rotate(r.range(0, Math.PI * 2));
  const s = (S / 64) * r.range(0.9, 1.1);
  ctx.scale(s, s);
  const missing = label === 'missing';
  if (kind === 'washer') drawWasher(ctx, r, missing);
  else if (kind === 'bracket') drawBracket(ctx, r, missing);
  else drawPcb(ctx, r, missing);

  // defects are drawn in the part's own frame, so they lie on the part
  if (label === 'scratch') {
    ctx.strokeStyle = `rgba(${r.chance(0.5) ? '235,235,235' : '30,30,30'},${r.range(0.6, 0.9)})`;
    ctx.lineWidth = r.range(1.2, 2.2);
    ctx.beginPath();
    const a = r.range(0, Math.PI);
    const len = r.range(18, 32);
    const cx = r.range(-6, 6);
    const cy = r.range(-6, 6);
    ctx.moveTo(cx - (Math.cos(a) * len) / 2, cy - (Math.sin(a) * len) / 2);
    ctx.quadraticCurveTo(cx + r.range(-3, 3), cy + r.range(-3, 3), cx + (Math.cos(a) * len) / 2, cy + (Math.sin(a) * len) / 2);
    ctx.stroke();
  } else if (label === 'dent') {
    // a dent: a dark pit with a bright rim where the light catches its far edge
    const cx = r.range(-8, 8);
    const cy = r.range(-8, 8);
    const rad = r.range(3.5, 6);
    const g = ctx.createRadialGradient(cx, cy, 0, cx, cy, rad);
    g.addColorStop(0, `rgba(10,10,10,${r.range(0.7, 0.95)})`);
    g.addColorStop(1, 'rgba(10,10,10,0)');
    ctx.fillStyle = g;
    ctx.beginPath();
    ctx.ellipse(cx, cy, rad, rad * r.range(0.6, 1), r.range(0, Math.PI), 0, Math.PI * 2);
    ctx.fill();
    ctx.strokeStyle = `rgba(250,250,240,${r.range(0.5, 0.8)})`;
    ctx.lineWidth = r.range(1, 1.6);
    ctx.beginPath();
    const a0 = r.range(0, Math.PI * 2);
    ctx.arc(cx, cy, rad * 0.9, a0, a0 + r.range(1.2, 2.2));
    ctx.stroke();
  } else if (label === 'crack') {
    ctx.strokeStyle = 'rgba(5,5,5,0.9)';
    ctx.lineWidth = r.range(1.1, 1.8);
    ctx.beginPath();
    let x = r.range(-18, -10);
    let y = r.range(-10, 10);
    ctx.moveTo(x, y);
    const steps = r.int(4, 7);
    for (let k = 0; k < steps; k++) {
      x += r.range(3, 6);
      y += r.range(-4, 4);
      ctx.lineTo(x, y);
    }
    ctx.stroke();
  }
  ctx.restore();

  // lighting and sensor noise
  const img = ctx.getImageData(0, 0, S, S);
  const gain = r.range(0.85, 1.15);
  const noise = r.range(2, 7);
  for (let i = 0; i < img.data.length; i += 4) {
    const n = r.normal() * noise;
    for (let c = 0; c < 3; c++) img.data[i + c] = img.data[i + c]! * gain + n;
  }
  ctx.putImageData(img, 0, 0);
  return { canvas, label, kind };
}

function metal(r: Rng): string {
  const v = r.int(160, 210);
  return `rgb(${v},${v},${v + r.int(0, 8)})`;
}

function drawWasher(ctx: SKRSContext2D, r: Rng, missing: boolean): void {
  ctx.fillStyle = metal(r);
  ctx.beginPath();
  ctx.arc(0, 0, 24, 0, Math.PI * 2);
  // missing feature: the centre hole was not punched
  if (!missing) ctx.arc(0, 0, r.range(8, 11), 0, Math.PI * 2, true);
  ctx.fill('evenodd');
  ctx.strokeStyle = 'rgba(255,255,255,0.3)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.arc(0, 0, 18, 0, Math.PI * 2);
  ctx.stroke();
}

function drawBracket(ctx: SKRSContext2D, r: Rng, missing: boolean): void {
  ctx.fillStyle = metal(r);
  ctx.fillRect(-24, -24, 16, 48);
  ctx.fillRect(-24, 8, 48, 16);
  const holes: [number, number][] = [
    [-16, -14],
    [-16, 0],
    [2, 16],
    [16, 16],
  ];
  const drop = missing ? r.int(0, holes.length - 1) : -1;
  const bg = 'rgb(50,55,60)';
  holes.forEach(([x, y], k) => {
    if (k === drop) return;
    ctx.fillStyle = bg;
    ctx.beginPath();
    ctx.arc(x, y, 3.5, 0, Math.PI * 2);
    ctx.fill();
  });
}

function drawPcb(ctx: SKRSContext2D, r: Rng, missing: boolean): void {
  ctx.fillStyle = `rgb(20,${r.int(90, 130)},40)`;
  ctx.fillRect(-26, -20, 52, 40);
  ctx.strokeStyle = 'rgb(200,170,60)';
  ctx.lineWidth = 1.2;
  for (let k = 0; k < 4; k++) {
    ctx.beginPath();
    ctx.moveTo(-24, -14 + k * 9);
    ctx.lineTo(-6, -14 + k * 9);
    ctx.lineTo(0, -10 + k * 7);
    ctx.stroke();
  }
  const chips: [number, number, number, number][] = [
    [4, -14, 16, 10],
    [4, 2, 10, 12],
    [-20, 8, 10, 8],
  ];
  const drop = missing ? r.int(0, chips.length - 1) : -1;
  chips.forEach(([x, y, w, h], k) => {
    if (k === drop) {
      // the empty footprint stays: pads without a part
      ctx.fillStyle = 'rgb(200,170,60)';
      ctx.fillRect(x, y, 2, h);
      ctx.fillRect(x + w - 2, y, 2, h);
      return;
    }
    ctx.fillStyle = 'rgb(25,25,25)';
    ctx.fillRect(x, y, w, h);
  });
}
