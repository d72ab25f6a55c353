// A plain ResNet-style CNN built in code (BatchNorm already folded into the convolutions' weights and
// biases, as exporters do): stem conv, stages of basic blocks (conv-relu-conv + residual, relu),
// stride-2 downsampling with 1x1 projections, GlobalAveragePool, Flatten, Gemm.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Init } from './weights.js';

export interface ResnetOptions {
  /** Input height and width (default 64). */
  imageSize?: number;
  /** Input channels (default 3). */
  inChannels?: number;
  /** Channels per stage (default [16, 32, 64]). */
  widths?: number[];
  /** Basic blocks per stage (default 1). */
  blocksPerStage?: number;
  classes?: number;
  seed?: number;
}

export function resnetCnn(opts: ResnetOptions = {}): Model {
  const size = opts.imageSize ?? 64;
  const cin = opts.inChannels ?? 3;
  const widths = opts.widths ?? [16, 32, 64];
  const blocks = opts.blocksPerStage ?? 1;
  const classes = opts.classes ?? 10;
  const b = new GraphBuilder('resnet_cnn');
  const w = new Init(b, opts.seed ?? 11);

  const conv = (x: string, name: string, ci: number, co: number, k: number, stride: number, relu: boolean): string => {
    const y = b.op(
      'Conv',
      [x, w.weight(`${name}.weight`, [co, ci, k, k], ci * k * k, Math.SQRT2), w.small(`${name}.bias`, [co])],
      { kernel_shape: [k, k], pads: Array(4).fill((k - 1) >> 1), strides: [stride, stride] },
      { name },
    );
    return relu ? b.op('Relu', [y], {}, { name: `${name}.relu` }) : y;
  };

  // x (N, C, H, W) -> stem (N, widths[0], H/2, W/2)
  let x = conv(b.input('x', DataType.FLOAT, ['batch', cin, size, size]), 'stem', cin, widths[0]!, 3, 2, true);
  let c = widths[0]!;
  widths.forEach((co, s) => {
    for (let k = 0; k < blocks; k++) {
      const p = `stage${s}.block${k}`;
      const stride = s > 0 && k === 0 ? 2 : 1;
      const y = conv(conv(x, `${p}.conv1`, c, co, 3, stride, true), `${p}.conv2`, co, co, 3, 1, false);
      const shortcut = stride !== 1 || c !== co ? conv(x, `${p}.proj`, c, co, 1, stride, false) : x;
      x = b.op('Relu', [b.op('Add', [y, shortcut], {}, { name: `${p}.add` })], {}, { name: `${p}.relu` });
      c = co;
    }
  });
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [x], {}, { name: 'gap' })], { axis: 1 }, { name: 'flatten' });
  const logits = b.op('Gemm', [pooled, w.weight('fc.weight', [c, classes], c), w.small('fc.bias', [classes])], {}, { name: 'fc', outputs: ['logits'] });
  b.output(logits, DataType.FLOAT, ['batch', classes]);
  return b.model({ opset: 17 });
}
