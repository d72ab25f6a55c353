// A text-detector-like segmentation net: image (N, 3, H, W) → strided conv encoder → nearest Resize ×2
// decoder with a skip Add → 1-channel map → Sigmoid, output (N, 1, H, W) like PaddleOCR det's
// probability map. Top-1 over such a map is meaningless; IoU of the thresholded map is not.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Init } from './weights.js';

export interface SegmentationOptions {
  imageSize?: number;
  widths?: [number, number];
  seed?: number;
}

export function segmentationNet(opts: SegmentationOptions = {}): Model {
  const size = opts.imageSize ?? 32;
  const [c1, c2] = opts.widths ?? [16, 32];
  const b = new GraphBuilder('segmentation');
  const w = new Init(b, opts.seed ?? 61);
  const conv = (x: string, name: string, ci: number, co: number, k: number, stride: number, relu = true) => {
    const y = b.op(
      'Conv',
      [x, w.weight(`${name}.weight`, [co, ci, k, k], ci * k * k, Math.SQRT2), w.small(`${name}.bias`, [co])],
      { kernel_shape: [k, k], pads: Array(4).fill(k >> 1), strides: [stride, stride] },
      { name },
    );
    return relu ? b.op('Relu', [y], {}, { name: `${name}.relu` }) : y;
  };
  // x (N, 3, H, W) -> e1 (N, c1, H/2, W/2) -> e2 (N, c2, H/4, W/4)
  const x = b.input('image', DataType.FLOAT, ['batch', 3, size, size]);
  const e1 = conv(x, 'enc1', 3, c1, 3, 2);
  const e2 = conv(conv(e1, 'enc2', c1, c2, 3, 2), 'enc3', c2, c2, 3, 1);
  const scales = b.floats('up.scales', [4], [1, 1, 2, 2]);
  // up (N, c1, H/2, W/2) + skip, then to full size, then the 1-channel map
  const up1 = b.op('Resize', [conv(e2, 'lat', c2, c1, 1, 1), '', scales], { mode: 'nearest' }, { name: 'up1' });
  const fused = b.op('Add', [up1, e1], {}, { name: 'skip' });
  const up2 = b.op('Resize', [conv(fused, 'dec1', c1, c1, 3, 1), '', scales], { mode: 'nearest' }, { name: 'up2' });
  const logit = conv(up2, 'head', c1, 1, 3, 1, false);
  b.op('Sigmoid', [logit], {}, { name: 'prob', outputs: ['maps'] });
  b.output('maps', DataType.FLOAT, ['batch', 1, size, size]);
  return b.model({ opset: 17 });
}
