// The exporter-style zoo models of issue 9, one per class, each with task-like inputs made in code
// (text-like images, voiced/unvoiced audio frames, log-mel-like features) and the agreement metric that
// fits its output. Shared by bench/exporters.ts and bench/your-data.ts.
import * as ort from 'onnxruntime-node';
import type { Model } from '../../src/onnx/model.js';
import { normal, rng, segmentationNet, sigmoidClassifier, tfNhwcCnn, torchResnet, vadRecurrent } from '../../src/zoo/index.js';

export type Item = Record<string, ort.Tensor>;

/** An image (C, H, W) in [-1, 1]-ish: a smooth gradient, a few bright rectangles (text-like strokes), noise. */
export function image(seed: number, c: number, h: number, w: number, nhwc: boolean): Float32Array {
  const r = rng(seed);
  const g = normal(r);
  const out = new Float32Array(c * h * w);
  const rects = Array.from({ length: 3 + Math.floor(r() * 4) }, () => [r() * w, r() * h, 2 + r() * w * 0.4, 2 + r() * h * 0.15, r()]);
  const tilt = [r() - 0.5, r() - 0.5];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const base = tilt[0]! * (x / w) + tilt[1]! * (y / h);
      const ink = rects.some(([rx, ry, rw, rh]) => x >= rx! && x < rx! + rw! && y >= ry! && y < ry! + rh!);
      for (let k = 0; k < c; k++) {
        const v = base + (ink ? 1.2 - 0.3 * k : -0.4) + 0.05 * g();
        out[nhwc ? (y * w + x) * c + k : (k * h + y) * w + x] = v;
      }
    }
  return out;
}

/** An audio frame: a voiced tone with harmonics (half the items) or background noise. */
export function audio(seed: number, n: number): Float32Array {
  const r = rng(seed);
  const g = normal(r);
  const voiced = seed % 2 === 0;
  const f0 = 100 + r() * 200;
  return Float32Array.from({ length: n }, (_, i) => {
    const t = i / 16000;
    const tone = voiced ? 0.5 * Math.sin(2 * Math.PI * f0 * t) + 0.25 * Math.sin(4 * Math.PI * f0 * t + 1) : 0;
    return tone + 0.05 * g();
  });
}

/** Log-mel-like features: smooth, positive, per-item level. */
export function features(seed: number, n: number): Float32Array {
  const r = rng(seed);
  const g = normal(r);
  let v = r();
  const level = 2 * r() - 1;
  return Float32Array.from({ length: n }, () => {
    v = 0.8 * v + 0.3 * g();
    return v + level;
  });
}

export const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

export interface Case {
  name: string;
  cls: string;
  build: () => Model;
  item: (seed: number) => Item;
  /** Agreement of a candidate's outputs with the source's, per item, by a metric that fits the output. */
  metric: 'cosine' | 'decision' | 'iou' | 'top1';
  dynamic: boolean;
}

/** The five cases at image size `S` (32 for a quick run, 64 otherwise). */
export function exporterCases(S: number): Case[] {
  return [
    {
      name: 'vad-recurrent',
      cls: 'recurrent + If(sr) + state',
      build: () => vadRecurrent({ frame: 512, hidden: 64, channels: 32 }),
      item: (s) => ({
        input: f32(audio(s, 512), [1, 512]),
        state: f32(new Float32Array(2 * 64), [2, 1, 64]),
        sr: new ort.Tensor('int64', BigInt64Array.of(16000n), []),
      }),
      metric: 'decision',
      dynamic: true,
    },
    {
      name: 'tf2onnx-nhwc',
      cls: 'tf2onnx NHWC',
      build: () => tfNhwcCnn({ imageSize: S, widths: [32, 64, 128] }),
      item: (s) => ({ input_1: f32(image(s, 3, S, S, true), [1, S, S, 3]) }),
      metric: 'top1',
      dynamic: true,
    },
    {
      name: 'torch-resnet',
      cls: 'torch.onnx ResNet',
      build: () => torchResnet({ imageSize: S, widths: [32, 64, 128], blocksPerStage: 2 }),
      item: (s) => ({ 'input.1': f32(image(s, 3, S, S, false), [1, 3, S, S]) }),
      metric: 'cosine',
      dynamic: true,
    },
    {
      name: 'sigmoid-classifier',
      cls: 'sigmoid [N,1]',
      build: () => sigmoidClassifier({ features: 640, hidden: 512 }),
      item: (s) => ({ features: f32(features(s, 640), [1, 640]) }),
      metric: 'decision',
      dynamic: true,
    },
    {
      name: 'segmentation',
      cls: 'segmentation map',
      build: () => segmentationNet({ imageSize: S, widths: [32, 64] }),
      item: (s) => ({ image: f32(image(s, 3, S, S, false), [1, 3, S, S]) }),
      metric: 'iou',
      dynamic: false,
    },
  ];
}
