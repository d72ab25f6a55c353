// A MobileNetV3-style CNN built in code: inverted residual blocks (1x1 expand, depthwise 3x3, 1x1
// project) with HardSwish activations and squeeze-excite (GlobalAveragePool → 1x1 → Relu → 1x1 →
// HardSigmoid → Mul). The pattern on which naive QDQ is slower than fp32.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Init } from './weights.js';

export interface MobilenetBlock {
  expand: number;
  out: number;
  stride: 1 | 2;
  se: boolean;
  act: 'HardSwish' | 'Relu';
}

export interface MobilenetOptions {
  imageSize?: number;
  inChannels?: number;
  stem?: number;
  blocks?: MobilenetBlock[];
  /** Width of the last 1x1 conv before pooling (default 128). */
  head?: number;
  classes?: number;
  seed?: number;
}

const DEFAULT_BLOCKS: MobilenetBlock[] = [
  { expand: 16, out: 16, stride: 2, se: true, act: 'Relu' },
  { expand: 64, out: 24, stride: 2, se: false, act: 'Relu' },
  { expand: 72, out: 24, stride: 1, se: false, act: 'Relu' },
  { expand: 96, out: 40, stride: 2, se: true, act: 'HardSwish' },
  { expand: 120, out: 40, stride: 1, se: true, act: 'HardSwish' },
  { expand: 160, out: 48, stride: 1, se: true, act: 'HardSwish' },
];

export function mobilenetV3(opts: MobilenetOptions = {}): Model {
  const size = opts.imageSize ?? 64;
  const cin = opts.inChannels ?? 3;
  const stem = opts.stem ?? 16;
  const blocks = opts.blocks ?? DEFAULT_BLOCKS;
  const head = opts.head ?? 128;
  const classes = opts.classes ?? 10;
  const b = new GraphBuilder('mobilenet_v3');
  const w = new Init(b, opts.seed ?? 13);

  const conv = (x: string, name: string, ci: number, co: number, k: number, stride: number, group: number, act?: string): string => {
    const y = b.op(
      'Conv',
      [x, w.weight(`${name}.weight`, [co, ci / group, k, k], (ci / group) * k * k, Math.SQRT2), w.small(`${name}.bias`, [co])],
      { kernel_shape: [k, k], pads: Array(4).fill((k - 1) >> 1), strides: [stride, stride], group },
      { name },
    );
    return act ? b.op(act, [y], {}, { name: `${name}.${act.toLowerCase()}` }) : y;
  };

  // x (N, C, H, W)
  let x = conv(b.input('x', DataType.FLOAT, ['batch', cin, size, size]), 'stem', cin, stem, 3, 2, 1, 'HardSwish');
  let c = stem;
  blocks.forEach((blk, i) => {
    const p = `block${i}`;
    let y = blk.expand !== c ? conv(x, `${p}.expand`, c, blk.expand, 1, 1, 1, blk.act) : x;
    y = conv(y, `${p}.dw`, blk.expand, blk.expand, 3, blk.stride, blk.expand, blk.act);
    if (blk.se) {
      const r = Math.max(8, blk.expand >> 2);
      const s = b.op('GlobalAveragePool', [y], {}, { name: `${p}.se.pool` });
      const gate = b.op(
        'HardSigmoid',
        [conv(conv(s, `${p}.se.reduce`, blk.expand, r, 1, 1, 1, 'Relu'), `${p}.se.expand`, r, blk.expand, 1, 1, 1)],
        { alpha: 1 / 6, beta: 0.5 },
        { name: `${p}.se.gate` },
      );
      y = b.op('Mul', [y, gate], {}, { name: `${p}.se.mul` });
    }
    y = conv(y, `${p}.project`, blk.expand, blk.out, 1, 1, 1);
    x = blk.stride === 1 && blk.out === c ? b.op('Add', [y, x], {}, { name: `${p}.add` }) : y;
    c = blk.out;
  });
  x = conv(x, 'head', c, head, 1, 1, 1, 'HardSwish');
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [x], {}, { name: 'gap' })], { axis: 1 }, { name: 'flatten' });
  const logits = b.op('Gemm', [pooled, w.weight('fc.weight', [head, classes], head), w.small('fc.bias', [classes])], {}, { name: 'fc', outputs: ['logits'] });
  b.output(logits, DataType.FLOAT, ['batch', classes]);
  return b.model({ opset: 17 });
}
