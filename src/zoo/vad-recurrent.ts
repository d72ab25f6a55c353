// A voice-activity detector shaped like the exported VADs found in the wild (silero-style): an int64
// scalar `sr` selects an If branch (16 kHz or 8 kHz front-end), each branch runs conv features and an
// LSTM that reads and returns the recurrent state, and a MatMul decoder ends in a sigmoid. The LSTM and
// decoder weights live in the main graph and are read from inside both branches (outer scope).

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { Graph } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { Init } from './weights.js';

export interface VadOptions {
  /** Samples per frame (default 256). */
  frame?: number;
  /** LSTM hidden size (default 32). */
  hidden?: number;
  /** Conv feature channels (default 16). */
  channels?: number;
  seed?: number;
}

/** The branch body: conv front-end (its own weights), the shared LSTM and decoder (outer scope). */
function branch(
  prefix: string,
  w: (b: GraphBuilder) => Init,
  o: { frame: number; hidden: number; channels: number; stride: number; kernel: number; samples: number },
): Graph {
  const b = new GraphBuilder(new Graph(`${prefix}_branch`));
  const init = w(b);
  const n = (s: string) => ({ name: `${prefix}.${s}` });
  const c = o.channels;
  // input (N, frame) -> (N, 1, samples): the 8 kHz branch reads the first half of the frame
  let x = b.op('Unsqueeze', ['input', b.int64s(`${prefix}.axes1`, [1])], {}, n('unsqueeze'));
  if (o.samples !== o.frame)
    x = b.op('Slice', [x, b.int64s(`${prefix}.s0`, [0]), b.int64s(`${prefix}.s1`, [o.samples]), b.int64s(`${prefix}.s2`, [2])], {}, n('slice'));
  x = b.op(
    'Conv',
    [x, init.weight(`${prefix}.conv1.weight`, [c, 1, o.kernel], o.kernel, Math.SQRT2), init.small(`${prefix}.conv1.bias`, [c])],
    { kernel_shape: [o.kernel], strides: [o.stride] },
    n('conv1'),
  );
  x = b.op('Relu', [x], {}, n('relu1'));
  x = b.op(
    'Conv',
    [x, init.weight(`${prefix}.conv2.weight`, [2 * c, c, 3], 3 * c, Math.SQRT2), init.small(`${prefix}.conv2.bias`, [2 * c])],
    { kernel_shape: [3], pads: [1, 1], strides: [2] },
    n('conv2'),
  );
  x = b.op('Relu', [x], {}, n('relu2'));
  // (N, 2c, T) -> (T, N, 2c): the LSTM's sequence-first layout
  const seq = b.op('Transpose', [x], { perm: [2, 0, 1] }, n('to_seq'));
  const h0 = b.op('Gather', ['state', b.int64s(`${prefix}.i0`, [0])], { axis: 0 }, n('h0'));
  const c0 = b.op('Gather', ['state', b.int64s(`${prefix}.i1`, [1])], { axis: 0 }, n('c0'));
  const [, yh, yc] = b.opN('LSTM', [seq, 'lstm.W', 'lstm.R', 'lstm.B', '', h0, c0], { hidden_size: o.hidden }, { ...n('lstm'), outputs: 3 });
  const h = b.op('Squeeze', [yh!, b.int64s(`${prefix}.axes0`, [0])], {}, n('h_last'));
  let d = b.op('MatMul', [h, 'dec1.weight'], {}, n('dec1'));
  d = b.op('Relu', [b.op('Add', [d, 'dec1.bias'], {}, n('dec1.add'))], {}, n('dec1.relu'));
  d = b.op('Add', [b.op('MatMul', [d, 'dec2.weight'], {}, n('dec2')), 'dec2.bias'], {}, n('dec2.add'));
  const prob = b.op('Sigmoid', [d], {}, { name: `${prefix}.sigmoid`, outputs: [`${prefix}.prob`] });
  const state = b.op('Concat', [yh!, yc!], { axis: 0 }, { name: `${prefix}.state`, outputs: [`${prefix}.stateN`] });
  b.output(prob, DataType.FLOAT, ['batch', 1]);
  b.output(state, DataType.FLOAT, [2, 'batch', o.hidden]);
  return b.graph;
}

/** inputs: input (N, frame) float, state (2, N, hidden) float, sr int64 scalar; outputs: output (N, 1), stateN. */
export function vadRecurrent(opts: VadOptions = {}): Model {
  const frame = opts.frame ?? 256;
  const hidden = opts.hidden ?? 32;
  const c = opts.channels ?? 16;
  const seed = opts.seed ?? 31;
  const b = new GraphBuilder('vad');
  const w = new Init(b, seed);
  b.input('input', DataType.FLOAT, ['batch', frame]);
  b.input('state', DataType.FLOAT, [2, 'batch', hidden]);
  b.input('sr', DataType.INT64, []);
  // LSTM W (1, 4H, in), R (1, 4H, H), B (1, 8H) and the decoder: main-graph weights the branches share
  w.weight('lstm.W', [1, 4 * hidden, 2 * c], 2 * c);
  w.weight('lstm.R', [1, 4 * hidden, hidden], hidden);
  w.small('lstm.B', [1, 8 * hidden]);
  w.weight('dec1.weight', [hidden, hidden], hidden, Math.SQRT2);
  w.small('dec1.bias', [hidden]);
  w.weight('dec2.weight', [hidden, 1], hidden);
  w.small('dec2.bias', [1]);
  const is16k = b.op('Equal', ['sr', b.int64s('sr16k', [16000], [])], {}, { name: 'is_16k' });
  let k = 0;
  const local = (gb: GraphBuilder) => new Init(gb, seed + 100 + k++);
  const then16 = branch('b16k', local, { frame, hidden, channels: c, stride: 4, kernel: 8, samples: frame });
  const else8 = branch('b8k', local, { frame, hidden, channels: c, stride: 2, kernel: 4, samples: frame / 2 });
  b.opN('If', [is16k], { then_branch: then16, else_branch: else8 }, { name: 'sr_branch', outputs: ['output', 'stateN'] });
  b.output('output', DataType.FLOAT, ['batch', 1]);
  b.output('stateN', DataType.FLOAT, [2, 'batch', hidden]);
  return b.model({ opset: 17 });
}
