// A per-frame CTC head for tests of CTC training (ctc-train.test.ts, ctc-teacher.test.ts), and data for it.
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { randn, normal, rng } from '../zoo/rng.js';
import type { CtcData } from './ctc-train.js';

export const T = 6;

/** x [B, 6, 4] → MatMul [4, 8] → Tanh (smooth, for finite differences) → MatMul [8, C] → Softmax: a per-frame CTC head (blank 0). */
export function seqModel(seed: number, frames = true, C = 5): Model {
  const g = normal(rng(seed));
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, frames ? ['b', T, 4] : ['b', 4]);
  const h = b.op('Tanh', [b.op('MatMul', [x, b.floats('w1', [4, 8], randn(32, 0.7, g))])]);
  const z = b.op('MatMul', [h, b.floats('w2', [8, C], randn(8 * C, 0.7, g))], {}, { outputs: ['logits'] });
  b.output(b.op('Softmax', [z], { axis: -1 }, { outputs: ['probs'] }));
  return b.model();
}

/** n random samples [6, 4], labels cycled from `labels` (undefined: no label). */
export function seqData(n: number, labels: (number[] | undefined)[]): CtcData {
  return {
    x: randn(n * T * 4, 1, normal(rng(11))),
    sampleShape: [T, 4],
    labels: Array.from({ length: n }, (_, i) => {
      const l = labels[i % labels.length];
      return l && Int32Array.from(l);
    }),
  };
}
