// Small models built from scratch for training: an MLP and a CNN from a one-line architecture spec.
//   mlp:784-512-512-10                    MatMul+Add+Relu layers, logits out
//   cnn:1x28x28-c32-p-c64-p-f128-10       c<N>: 3×3 conv (pad 1) + Relu; p: 2×2 max pool; g: global
//                                         average pool; f<N>: fully connected + Relu; d<r>: dropout
//                                         with ratio r (e.g. d0.5; identity at inference); last: classes
// Weights: He-normal (seeded), biases zero. Input 'x' [batch, …], output 'logits' [batch, classes].

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { Rng } from './rng.js';

/** The most weights one layer of a built model may have (2^28 floats = 1 GiB): these are small models. */
export const MAX_LAYER_WEIGHTS = 2 ** 28;

function heNormal(rng: Rng, name: string, dims: number[], fanIn: number): Tensor {
  const n = dims.reduce((p, q) => p * q, 1);
  if (n > MAX_LAYER_WEIGHTS)
    throw new UsageError(
      `layer '${name}' [${dims.join(', ')}] would have ${n.toExponential(2)} weights (${((n * 4) / 2 ** 30).toFixed(1)} GiB); edgefit train builds small models (at most ${MAX_LAYER_WEIGHTS} weights a layer)`,
      'use smaller layer sizes, e.g. mlp:784-512-512-10, or pool (p) before a dense layer (f<N>)',
    );
  const std = Math.sqrt(2 / fanIn);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
  return Tensor.fromFloat32(name, dims, v);
}

function zeros(name: string, dims: number[]): Tensor {
  return Tensor.fromFloat32(name, dims, new Float32Array(dims.reduce((p, q) => p * q, 1)));
}

function dense(b: GraphBuilder, rng: Rng, x: string, fanIn: number, fanOut: number, k: number, relu: boolean): string {
  const w = b.constant(`fc${k}.weight`, heNormal(rng, `fc${k}.weight`, [fanIn, fanOut], fanIn));
  const bias = b.constant(`fc${k}.bias`, zeros(`fc${k}.bias`, [fanOut]));
  const y = b.op('Add', [b.op('MatMul', [x, w], {}, { name: `fc${k}/MatMul` }), bias], {}, { name: `fc${k}/Add` });
  return relu ? b.op('Relu', [y], {}, { name: `fc${k}/Relu` }) : y;
}

/** An MLP: sizes[0] inputs, hidden layers with Relu, sizes[last] logits. */
export function buildMlp(sizes: number[], seed = 0): Model {
  if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1))
    throw new UsageError(`an MLP needs at least two positive layer sizes, got [${sizes.join(', ')}]`, 'write it as mlp:784-512-512-10');
  const rng = new Rng(seed);
  const b = new GraphBuilder('mlp');
  let h = b.input('x', DataType.FLOAT, ['batch', sizes[0]!]);
  for (let k = 1; k < sizes.length; k++) h = dense(b, rng, h, sizes[k - 1]!, sizes[k]!, k, k < sizes.length - 1);
  b.graph.nodes[b.graph.nodes.length - 1]!.outputs[0] = 'logits';
  b.output('logits', DataType.FLOAT, ['batch', sizes[sizes.length - 1]!]);
  const m = b.model({ opset: 17 });
  m.setMeta('edgefit.arch', `mlp:${sizes.join('-')}`);
  return m;
}

/** A CNN from 'cnn:1x28x28-c32-p-c64-p-f128-10' (the 'cnn:' prefix optional). */
export function buildCnn(spec: string, seed = 0): Model {
  const tokens = spec.replace(/^cnn:/, '').split('-');
  const input = (tokens.shift() ?? '').split('x').map(Number);
  const bad = () => new UsageError(`bad CNN spec '${spec}'`, 'write it as cnn:<C>x<H>x<W>-c<N>-p-…-f<N>-<classes>, e.g. cnn:1x28x28-c32-p-c64-p-f128-10');
  if (input.length !== 3 || input.some((d) => !Number.isInteger(d) || d < 1) || tokens.length < 1) throw bad();
  const rng = new Rng(seed);
  const b = new GraphBuilder('cnn');
  let [c, h, w] = input as [number, number, number];
  let x = b.input('x', DataType.FLOAT, ['batch', c, h, w]);
  let flat: number | undefined;
  let k = 0;
  const last = tokens.length - 1;
  tokens.forEach((t, i) => {
    k++;
    if (i === last) {
      const classes = Number(t);
      if (!Number.isInteger(classes) || classes < 1) throw bad();
      if (flat === undefined) {
        x = b.op('Flatten', [x], { axis: 1 }, { name: `flatten${k}` });
        flat = c * h * w;
      }
      x = dense(b, rng, x, flat, classes, k, false);
      return;
    }
    const drop = /^d(0?\.\d+)$/.exec(t);
    if (drop) {
      const ratio = Number(drop[1]);
      if (!(ratio > 0 && ratio < 1)) throw bad();
      x = b.op('Dropout', [x, b.constant(`drop${k}.ratio`, Tensor.fromFloat32(`drop${k}.ratio`, [], Float32Array.of(ratio)))], {}, { name: `drop${k}` });
      return;
    }
    const m = /^(c|f)(\d+)$|^(p|g)$/.exec(t);
    if (!m) throw bad();
    if (m[2] !== undefined && Number(m[2]) < 1) throw new UsageError(`bad CNN spec '${spec}': '${t}' has no units`, `c<N> and f<N> need N ≥ 1, e.g. c16, f128`);
    if (m[1] === 'c') {
      if (flat !== undefined) throw bad();
      const out = Number(m[2]);
      const wt = b.constant(`conv${k}.weight`, heNormal(rng, `conv${k}.weight`, [out, c, 3, 3], c * 9));
      const bias = b.constant(`conv${k}.bias`, zeros(`conv${k}.bias`, [out]));
      x = b.op('Relu', [b.op('Conv', [x, wt, bias], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }, { name: `conv${k}/Conv` })], {}, { name: `conv${k}/Relu` });
      c = out;
    } else if (m[3] === 'p') {
      if (flat !== undefined) throw bad();
      if (h < 2 || w < 2)
        throw new UsageError(
          `bad CNN spec '${spec}': pool '${t}' (token ${i + 2}) gets a ${h}×${w} map, too small to halve`,
          'use fewer p (2×2 max pool) tokens for this input size, or g (global average pool)',
        );
      x = b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, { name: `pool${k}` });
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
    } else if (m[3] === 'g') {
      if (flat !== undefined) throw bad();
      x = b.op('Flatten', [b.op('GlobalAveragePool', [x], {}, { name: `gap${k}` })], { axis: 1 }, { name: `flatten${k}` });
      flat = c;
    } else {
      if (flat === undefined) {
        x = b.op('Flatten', [x], { axis: 1 }, { name: `flatten${k}` });
        flat = c * h * w;
      }
      const out = Number(m[2]);
      x = dense(b, rng, x, flat, out, k, true);
      flat = out;
    }
  });
  b.graph.nodes[b.graph.nodes.length - 1]!.outputs[0] = 'logits';
  b.output('logits', DataType.FLOAT, ['batch', undefined]);
  const model = b.model({ opset: 17 });
  model.setMeta('edgefit.arch', `cnn:${tokens.length ? spec.replace(/^cnn:/, '') : spec}`);
  return model;
}

/** Builds 'mlp:…' or 'cnn:…'. */
export function buildArch(arch: string, seed = 0): Model {
  if (arch.startsWith('mlp:')) return buildMlp(arch.slice(4).split('-').map(Number), seed);
  if (arch.startsWith('cnn:')) return buildCnn(arch, seed);
  throw new UsageError(`unknown architecture '${arch}'`, 'use mlp:784-512-512-10 or cnn:1x28x28-c32-p-c64-p-f128-10');
}

/** The per-sample input shape of a built model ([784] or [1,28,28]). */
export function archInputShape(model: Model): number[] {
  const shape = model.graph.realInputs()[0]?.type;
  if (shape?.kind !== 'tensor' || !shape.shape) throw new UsageError('the model has no tensor input');
  return shape.shape.slice(1).map((d) => (typeof d === 'number' ? d : 1));
}
