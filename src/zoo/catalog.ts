// Named, small configurations of the zoo models, with feeds to run them: the conformance suite and
// tests iterate over this list.

import type { Model } from '../onnx/model.js';
import { bertEncoder } from './bert-encoder.js';
import { mlp } from './mlp.js';
import { mobilenetV3 } from './mobilenet-v3.js';
import { resnetCnn } from './resnet-cnn.js';
import { normal, randn, rng } from './rng.js';
import { segmentationNet } from './segmentation-net.js';
import { sigmoidClassifier } from './sigmoid-classifier.js';
import { tfNhwcCnn } from './tf-nhwc-cnn.js';
import { torchResnet } from './torch-resnet.js';
import { vadRecurrent } from './vad-recurrent.js';

/** An input whose values matter (a sample rate, a recurrent state): fixed, not random. */
export interface FixedInput {
  type: 'int64' | 'float32';
  dims: number[];
  /** Every element takes this value. */
  value: number;
}

export interface ZooEntry {
  name: string;
  build: () => Model;
  /** Input name → dims for a small batch (random float32 inputs). */
  inputShapes: Record<string, number[]>;
  /** Inputs that must be given a value (an int64 branch selector, a zero state). */
  fixed?: Record<string, FixedInput>;
  /** Token-id inputs (int64), seeded random ids below `vocab`. */
  ids?: Record<string, { dims: number[]; vocab: number }>;
  /** Which exporter's habits the model carries, for the ones built to look exported. */
  style?: 'torch' | 'tf2onnx' | 'recurrent-if' | 'sigmoid' | 'segmentation';
}

/**
 * The zoo. Entries whose inputs need given values (an int64 sample rate, a zero state: the VAD; token
 * ids: bert-text) are left out unless `fixedInputs` is set, so callers that feed random float32 inputs
 * stay correct.
 */
export function zooModels(opts: { fixedInputs?: boolean } = {}): ZooEntry[] {
  const all: ZooEntry[] = [
    { name: 'mlp', build: () => mlp({ sizes: [64, 128, 128, 10] }), inputShapes: { x: [4, 64] } },
    { name: 'mlp-gemm', build: () => mlp({ sizes: [64, 96, 10], gemm: true }), inputShapes: { x: [4, 64] } },
    { name: 'bert-tiny', build: () => bertEncoder({ layers: 2, hidden: 64, heads: 4, seq: 16, classes: 3 }), inputShapes: { x: [2, 16, 64] } },
    {
      name: 'bert-text',
      build: () => bertEncoder({ layers: 2, hidden: 32, heads: 4, seq: 16, classes: 3, vocab: 1000 }),
      inputShapes: {},
      ids: { input_ids: { dims: [2, 16], vocab: 1000 } },
    },
    { name: 'resnet-tiny', build: () => resnetCnn({ imageSize: 32, widths: [8, 16, 32] }), inputShapes: { x: [2, 3, 32, 32] } },
    { name: 'mobilenetv3-tiny', build: () => mobilenetV3({ imageSize: 32 }), inputShapes: { x: [2, 3, 32, 32] } },
    ...exporterZoo(),
  ];
  return opts.fixedInputs ? all : all.filter((e) => !e.fixed && !e.ids);
}

/** The five classes of exported model issue 9 asks for, at test sizes. */
export function exporterZoo(): ZooEntry[] {
  return [
    {
      name: 'vad-recurrent',
      style: 'recurrent-if',
      build: () => vadRecurrent(),
      inputShapes: { input: [2, 256] },
      fixed: { state: { type: 'float32', dims: [2, 2, 32], value: 0 }, sr: { type: 'int64', dims: [], value: 16000 } },
    },
    { name: 'tf2onnx-nhwc', style: 'tf2onnx', build: () => tfNhwcCnn(), inputShapes: { input_1: [2, 32, 32, 3] } },
    { name: 'torch-resnet', style: 'torch', build: () => torchResnet(), inputShapes: { 'input.1': [2, 3, 32, 32] } },
    { name: 'sigmoid-classifier', style: 'sigmoid', build: () => sigmoidClassifier(), inputShapes: { features: [4, 96] } },
    { name: 'segmentation', style: 'segmentation', build: () => segmentationNet(), inputShapes: { image: [2, 3, 32, 32] } },
  ];
}

export type AnyFeeds = Record<string, { dims: number[]; data: Float32Array | BigInt64Array }>;

/** Random float inputs plus the entry's fixed ones. */
export function entryFeeds(entry: ZooEntry, seed = 42): AnyFeeds {
  const out: AnyFeeds = { ...randomFeeds(entry.inputShapes, seed) };
  for (const [name, t] of Object.entries(entry.ids ?? {})) {
    const r = rng(seed + 1);
    const n = t.dims.reduce((a, d) => a * d, 1);
    out[name] = { dims: t.dims, data: BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * t.vocab))) };
  }
  for (const [name, f] of Object.entries(entry.fixed ?? {})) {
    const n = f.dims.reduce((a, d) => a * d, 1);
    out[name] = { dims: f.dims, data: f.type === 'int64' ? new BigInt64Array(n).fill(BigInt(f.value)) : new Float32Array(n).fill(f.value) };
  }
  return out;
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
