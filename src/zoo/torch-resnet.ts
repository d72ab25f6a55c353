// A ResNet as torch.onnx.export writes it: BatchNorm folded into the Convs, identical initializers
// deduplicated and shared through Identity nodes, scalars in Constant nodes, a Cast chain on the
// input, the flatten done by Reshape with a shape built from Shape → Gather → Unsqueeze → Concat, and
// a LayerNorm split into ReduceMean / Sub / Pow / ReduceMean / Add / Sqrt / Div / Mul / Add.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { Init } from './weights.js';

export interface TorchResnetOptions {
  imageSize?: number;
  widths?: number[];
  blocksPerStage?: number;
  classes?: number;
  seed?: number;
}

export function torchResnet(opts: TorchResnetOptions = {}): Model {
  const size = opts.imageSize ?? 32;
  const widths = opts.widths ?? [16, 32, 64];
  const blocks = opts.blocksPerStage ?? 1;
  const classes = opts.classes ?? 10;
  const b = new GraphBuilder('main_graph');
  const w = new Init(b, opts.seed ?? 71);
  let id = 100;
  const onnx = (op: string) => `onnx::${op}_${id++}`;
  const constant = (t: Tensor) => b.op('Constant', [], { value: t }, { name: `/Constant_${id}`, outputs: [onnx('Constant')] });
  // torch dedups identical tensors: one bias per width, each later use an Identity of the first
  const sharedBias = new Map<number, string>();
  const biasFor = (co: number): string => {
    const first = sharedBias.get(co);
    if (!first) {
      const name = w.small(onnx('Conv'), [co]);
      sharedBias.set(co, name);
      return name;
    }
    return b.op('Identity', [first], {}, { name: `Identity_${id}`, outputs: [onnx('Conv')] });
  };
  const conv = (x: string, name: string, ci: number, co: number, k: number, stride: number, relu: boolean): string => {
    const y = b.op(
      'Conv',
      [x, w.weight(onnx('Conv'), [co, ci, k, k], ci * k * k, Math.SQRT2), biasFor(co)],
      { dilations: [1, 1], group: 1, kernel_shape: [k, k], pads: Array(4).fill((k - 1) >> 1), strides: [stride, stride] },
      { name: `${name}/Conv`, outputs: [`${name}/Conv_output_0`] },
    );
    return relu ? b.op('Relu', [y], {}, { name: `${name}/Relu`, outputs: [`${name}/Relu_output_0`] }) : y;
  };

  // input (N, 3, S, S): a Cast to float64 and back (lossless, and a Cast to the type it already has)
  const input = b.input('input.1', DataType.FLOAT, ['batch', 3, size, size]);
  const f64 = b.op('Cast', [input], { to: DataType.DOUBLE }, { name: '/Cast', outputs: ['/Cast_output_0'] });
  const f32 = b.op('Cast', [f64], { to: DataType.FLOAT }, { name: '/Cast_1', outputs: ['/Cast_1_output_0'] });
  const same = b.op('Cast', [f32], { to: DataType.FLOAT }, { name: '/Cast_2', outputs: ['/Cast_2_output_0'] });
  let x = conv(same, '/conv1', 3, widths[0]!, 3, 1, true);
  let c = widths[0]!;
  widths.forEach((co, s) => {
    for (let k = 0; k < blocks; k++) {
      const p = `/layer${s + 1}/layer${s + 1}.${k}`;
      const stride = s > 0 && k === 0 ? 2 : 1;
      const y = conv(conv(x, `${p}/conv1`, c, co, 3, stride, true), `${p}/conv2`, co, co, 3, 1, false);
      const shortcut = stride !== 1 || c !== co ? conv(x, `${p}/downsample/downsample.0`, c, co, 1, stride, false) : x;
      const sum = b.op('Add', [y, shortcut], {}, { name: `${p}/Add`, outputs: [`${p}/Add_output_0`] });
      x = b.op('Relu', [sum], {}, { name: `${p}/relu_1/Relu`, outputs: [`${p}/relu_1/Relu_output_0`] });
      c = co;
    }
  });
  const pooled = b.op('GlobalAveragePool', [x], {}, { name: '/avgpool/GlobalAveragePool', outputs: ['/avgpool/GlobalAveragePool_output_0'] });
  // torch.flatten(x, 1) as Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]))
  const shape = b.op('Shape', [pooled], {}, { name: '/Shape', outputs: ['/Shape_output_0'] });
  const batch = b.op('Gather', [shape, constant(Tensor.fromInt64('', [], [0]))], { axis: 0 }, { name: '/Gather', outputs: ['/Gather_output_0'] });
  const batch1 = b.op('Unsqueeze', [batch, constant(Tensor.fromInt64('', [1], [0]))], {}, { name: '/Unsqueeze', outputs: ['/Unsqueeze_output_0'] });
  const dims = b.op('Concat', [batch1, constant(Tensor.fromInt64('', [1], [-1]))], { axis: 0 }, { name: '/Concat', outputs: ['/Concat_output_0'] });
  const flat = b.op('Reshape', [pooled, dims], {}, { name: '/Reshape', outputs: ['/Reshape_output_0'] });
  // LayerNorm over the last axis, decomposed
  const mean = b.op('ReduceMean', [flat], { axes: [-1], keepdims: 1 }, { name: '/norm/ReduceMean', outputs: ['/norm/ReduceMean_output_0'] });
  const centred = b.op('Sub', [flat, mean], {}, { name: '/norm/Sub', outputs: ['/norm/Sub_output_0'] });
  const sq = b.op('Pow', [centred, constant(Tensor.scalar('', DataType.FLOAT, 2))], {}, { name: '/norm/Pow', outputs: ['/norm/Pow_output_0'] });
  const variance = b.op('ReduceMean', [sq], { axes: [-1], keepdims: 1 }, { name: '/norm/ReduceMean_1', outputs: ['/norm/ReduceMean_1_output_0'] });
  const eps = b.op('Add', [variance, constant(Tensor.scalar('', DataType.FLOAT, 1e-5))], {}, { name: '/norm/Add', outputs: ['/norm/Add_output_0'] });
  const std = b.op('Sqrt', [eps], {}, { name: '/norm/Sqrt', outputs: ['/norm/Sqrt_output_0'] });
  const normed = b.op('Div', [centred, std], {}, { name: '/norm/Div', outputs: ['/norm/Div_output_0'] });
  const scaled = b.op('Mul', [normed, w.around('norm.weight', [c], 1, 0.05)], {}, { name: '/norm/Mul', outputs: ['/norm/Mul_output_0'] });
  const shifted = b.op('Add', [scaled, w.small('norm.bias', [c])], {}, { name: '/norm/Add_1', outputs: ['/norm/Add_1_output_0'] });
  b.op(
    'Gemm',
    [shifted, w.weight('fc.weight', [classes, c], c), w.small('fc.bias', [classes])],
    { alpha: 1, beta: 1, transB: 1 },
    { name: '/fc/Gemm', outputs: ['logits'] },
  );
  b.output('logits', DataType.FLOAT, ['batch', classes]);
  return b.model({ opset: 17 });
}
