// A one-output detector head (wake word present or not): features (N, F) → two Gemm + Relu layers →
// Gemm to one logit → Sigmoid, output (N, 1). Top-1 agreement means nothing on it; the >0.5 decision does.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Init } from './weights.js';

export interface SigmoidClassifierOptions {
  features?: number;
  hidden?: number;
  seed?: number;
}

export function sigmoidClassifier(opts: SigmoidClassifierOptions = {}): Model {
  const f = opts.features ?? 96;
  const h = opts.hidden ?? 128;
  const b = new GraphBuilder('detector');
  const w = new Init(b, opts.seed ?? 51);
  let x = b.input('features', DataType.FLOAT, ['batch', f]);
  x = b.op(
    'Relu',
    [b.op('Gemm', [x, w.weight('fc1.weight', [h, f], f, Math.SQRT2), w.small('fc1.bias', [h])], { transB: 1 }, { name: 'fc1' })],
    {},
    { name: 'relu1' },
  );
  x = b.op(
    'Relu',
    [b.op('Gemm', [x, w.weight('fc2.weight', [h, h], h, Math.SQRT2), w.small('fc2.bias', [h])], { transB: 1 }, { name: 'fc2' })],
    {},
    { name: 'relu2' },
  );
  x = b.op('Gemm', [x, w.weight('fc3.weight', [1, h], h), w.small('fc3.bias', [1])], { transB: 1 }, { name: 'fc3' });
  b.op('Sigmoid', [x], {}, { name: 'prob', outputs: ['prob'] });
  b.output('prob', DataType.FLOAT, ['batch', 1]);
  return b.model({ opset: 17 });
}
