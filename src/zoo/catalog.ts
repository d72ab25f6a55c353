// Named, small configurations of the zoo models, with feeds to run them: the conformance suite and
// tests iterate over this list.

import type { Model } from '../onnx/model.js';
import { bertEncoder } from './bert-encoder.js';
import { mlp } from './mlp.js';
import { mobilenetV3 } from './mobilenet-v3.js';
import { resnetCnn } from './resnet-cnn.js';
import { normal, randn, rng } from './rng.js';

export interface ZooEntry {
  name: string;
  build: () => Model;
  /** Input name → dims for a small batch. */
  inputShapes: Record<string, number[]>;
}

export function zooModels(): ZooEntry[] {
  return [
    { name: 'mlp', build: () => mlp({ sizes: [64, 128, 128, 10] }), inputShapes: { x: [4, 64] } },
    { name: 'mlp-gemm', build: () => mlp({ sizes: [64, 96, 10], gemm: true }), inputShapes: { x: [4, 64] } },
    { name: 'bert-tiny', build: () => bertEncoder({ layers: 2, hidden: 64, heads: 4, seq: 16, classes: 3 }), inputShapes: { x: [2, 16, 64] } },
    { name: 'resnet-tiny', build: () => resnetCnn({ imageSize: 32, widths: [8, 16, 32] }), inputShapes: { x: [2, 3, 32, 32] } },
    { name: 'mobilenetv3-tiny', build: () => mobilenetV3({ imageSize: 32 }), inputShapes: { x: [2, 3, 32, 32] } },
  ];
}

/** Seeded standard-normal float32 data for the given shapes. */
export function randomFeeds(shapes: Record<string, number[]>, seed = 42): Record<string, { dims: number[]; data: Float32Array }> {
  const g = normal(rng(seed));
  const out: Record<string, { dims: number[]; data: Float32Array }> = {};
  for (const [name, dims] of Object.entries(shapes))
    out[name] = {
      dims,
      data: randn(
        dims.reduce((a, d) => a * d, 1),
        1,
        g,
      ),
    };
  return out;
}
