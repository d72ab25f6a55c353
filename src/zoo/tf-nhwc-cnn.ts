// A conv net as tf2onnx writes a Keras model: NHWC input, a Transpose to NCHW before each Conv and
// back to NHWC after it (activations applied in NHWC between them), weights read through Identity
// nodes (tf2onnx's ReadVariableOp), global pooling as ReduceMean over H and W, and a MatMul + Add head.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Init } from './weights.js';

export interface TfNhwcOptions {
  imageSize?: number;
  inChannels?: number;
  widths?: number[];
  classes?: number;
  seed?: number;
}

export function tfNhwcCnn(opts: TfNhwcOptions = {}): Model {
  const size = opts.imageSize ?? 32;
  const cin = opts.inChannels ?? 3;
  const widths = opts.widths ?? [16, 32, 32];
  const classes = opts.classes ?? 5;
  const b = new GraphBuilder('tf2onnx');
  const w = new Init(b, opts.seed ?? 41);
  const read = (name: string, init: string) => b.op('Identity', [init], {}, { name: `${name}/ReadVariableOp`, outputs: [`${name}/ReadVariableOp:0`] });
  // x (N, H, W, C)
  let x = b.input('input_1', DataType.FLOAT, ['unk__0', size, size, cin]);
  let c = cin;
  widths.forEach((co, k) => {
    const p = `model/conv2d_${k}`;
    const nchw = b.op('Transpose', [x], { perm: [0, 3, 1, 2] }, { name: `${p}/Conv2D__${k * 3}` });
    const kern = read(`${p}/Conv2D`, w.weight(`${p}/kernel`, [co, c, 3, 3], 9 * c, Math.SQRT2));
    const bias = read(`${p}/BiasAdd`, w.small(`${p}/bias`, [co]));
    const y = b.op(
      'Conv',
      [nchw, kern, bias],
      { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [k === 0 ? 1 : 2, k === 0 ? 1 : 2], dilations: [1, 1] },
      { name: `${p}/BiasAdd` },
    );
    const nhwc = b.op('Transpose', [y], { perm: [0, 2, 3, 1] }, { name: `${p}/BiasAdd__${k * 3 + 1}` });
    x = b.op('Relu', [nhwc], {}, { name: `${p}/Relu` });
    c = co;
  });
  const pooled = b.op('ReduceMean', [x], { axes: [1, 2], keepdims: 0 }, { name: 'model/global_average_pooling2d/Mean' });
  const dense = b.op('MatMul', [pooled, read('model/dense/MatMul', w.weight('model/dense/kernel', [c, classes], c))], {}, { name: 'model/dense/MatMul' });
  const logits = b.op('Add', [dense, read('model/dense/BiasAdd', w.small('model/dense/bias', [classes]))], {}, { name: 'model/dense/BiasAdd' });
  b.op('Softmax', [logits], { axis: -1 }, { name: 'model/dense/Softmax', outputs: ['dense'] });
  b.output('dense', DataType.FLOAT, ['unk__0', classes]);
  return b.model({ opset: 13 });
}
