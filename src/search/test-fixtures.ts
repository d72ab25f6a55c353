// Small models and data built in code for the tests of user data, agreement metrics and the search:
// a sigmoid single-output classifier, a segmentation-map model, and a VAD-like model whose int64 sample
// rate selects an If branch and whose state input must start at zero. Data are "real-looking": features
// far from the [-1, 1) noise that random inputs give, so calibration on noise is visibly wrong.

import { writeFileSync } from 'node:fs';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { encodeNpy } from '../data/npy.js';
import { mulberry32, pairedNormal } from '../util/rng.js';
import { Init } from '../zoo/weights.js';

/** x [batch, f] → MLP → Sigmoid → y [batch, 1]; `shift` moves the logit (a broken variant flips decisions). */
export function sigmoidClassifier(opts: { features?: number; hidden?: number; seed?: number; shift?: number } = {}): Model {
  const f = opts.features ?? 16;
  const hdim = opts.hidden ?? 32;
  const b = new GraphBuilder('sigmoid-classifier');
  const w = new Init(b, opts.seed ?? 5);
  const x = b.input('x', DataType.FLOAT, ['batch', f]);
  let h = b.op('Add', [b.op('MatMul', [x, w.weight('w0', [f, hdim], f, Math.SQRT2)]), w.small('b0', [hdim])]);
  h = b.op('Relu', [h]);
  h = b.op('Add', [b.op('MatMul', [h, w.weight('w1', [hdim, 1], hdim)]), b.floats('b1', [1], [opts.shift ?? 0])]);
  b.op('Sigmoid', [h], {}, { outputs: ['prob'] });
  b.output('prob', DataType.FLOAT, ['batch', 1]);
  return b.model({ opset: 17 });
}

/** x [batch, 3, s, s] → Conv 3×3 → Relu → Conv 1×1 → Sigmoid → mask [batch, 1, s, s] (values in [0, 1]). */
export function segmentationModel(opts: { size?: number; seed?: number } = {}): Model {
  const s = opts.size ?? 16;
  const b = new GraphBuilder('seg');
  const w = new Init(b, opts.seed ?? 7);
  const x = b.input('image', DataType.FLOAT, ['batch', 3, s, s]);
  let h = b.op('Conv', [x, w.weight('c0', [8, 3, 3, 3], 27, Math.SQRT2), w.small('c0b', [8])], { pads: [1, 1, 1, 1] });
  h = b.op('Relu', [h]);
  h = b.op('Conv', [h, w.weight('c1', [1, 8, 1, 1], 8, 2)]);
  b.op('Sigmoid', [h], {}, { outputs: ['mask'] });
  b.output('mask', DataType.FLOAT, ['batch', 1, s, s]);
  return b.model({ opset: 17 });
}

/**
 * audio [1, n], sr int64 scalar, state [2, 1, 4] → prob [1, 1], stateN [2, 1, 4]. `sr == 16000` picks
 * the branch that scores the audio; any other rate the branch that negates it (a VAD's 8 kHz path).
 */
export function vadLike(): Model {
  const b = new GraphBuilder('vad');
  const audio = b.input('audio', DataType.FLOAT, [1, 'n']);
  const sr = b.input('sr', DataType.INT64, []);
  const state = b.input('state', DataType.FLOAT, [2, 1, 4]);
  const energy = b.op('ReduceMean', [b.op('Mul', [audio, audio])], { keepdims: 1, axes: [1] });
  const cond = b.op('Equal', [sr, b.constant('rate16k', Tensor.fromInt64('rate16k', [], [16000]))]);
  const branch = (name: string, sign: number) => {
    const g = new GraphBuilder(name);
    g.op('Mul', [energy, g.floats(`${name}_k`, [1], [sign * 8])], {}, { outputs: [`${name}_out`] });
    g.output(`${name}_out`, DataType.FLOAT, [1, 1]);
    return g.graph;
  };
  const picked = b.op('If', [cond], { then_branch: branch('then', 1), else_branch: branch('else', -1) });
  const st = b.op('ReduceSum', [state], { keepdims: 0 });
  b.op('Sigmoid', [b.op('Add', [b.op('Sub', [picked, b.floats('half', [1], [2])]), st])], {}, { outputs: ['prob'] });
  b.op('Add', [state, b.floats('one', [1], [1])], {}, { outputs: ['stateN'] });
  b.output('prob', DataType.FLOAT, [1, 1]);
  b.output('stateN', DataType.FLOAT, [2, 1, 4]);
  return b.model({ opset: 17 });
}

/** n samples of f features ~ N(mean, std²) per feature, clustered so a classifier sees both classes. */
export function featureSamples(n: number, f: number, opts: { seed?: number; scale?: number; offset?: number } = {}): Float32Array {
  const g = pairedNormal(mulberry32(opts.seed ?? 11));
  const scale = opts.scale ?? 4;
  const offset = opts.offset ?? 2;
  const out = new Float32Array(n * f);
  for (let i = 0; i < n; i++) {
    const c = i % 2 ? 1 : -1;
    for (let k = 0; k < f; k++) out[i * f + k] = offset + c * (k % 3 === 0 ? 1.5 : 0.2) * scale + g() * scale * 0.5;
  }
  return out;
}

/** n images [3, s, s] with a bright square on a dark, slightly noisy background (a "part" to segment). */
export function blobImages(n: number, s: number, seed = 13): Float32Array {
  const u = mulberry32(seed);
  const out = new Float32Array(n * 3 * s * s);
  for (let i = 0; i < n; i++) {
    const x0 = Math.floor(u() * (s / 2));
    const y0 = Math.floor(u() * (s / 2));
    const w = 3 + Math.floor(u() * (s / 2));
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < s; y++)
        for (let x = 0; x < s; x++) {
          const inside = x >= x0 && x < x0 + w && y >= y0 && y < y0 + w;
          out[((i * 3 + c) * s + y) * s + x] = (inside ? 0.9 : 0.1) + (u() - 0.5) * 0.1;
        }
  }
  return out;
}

export function writeNpy(path: string, data: Float32Array | Int32Array | Uint8Array | BigInt64Array | Float64Array, shape: number[]): string {
  writeFileSync(path, encodeNpy(data, shape));
  return path;
}
