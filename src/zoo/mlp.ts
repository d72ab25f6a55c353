// A plain MLP (MatMul + Add + Relu), built in code with seeded weights. `mlpBeyondL3` is sized so its
// fp32 weights do not fit in the L3 cache of the bench machine (32 MiB): batch-1 inference is then
// memory-bound, which is where weight-only int4 pays off.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import type { Model } from '../onnx/model.js';
import { Init } from './weights.js';

export interface MlpOptions {
  /** Layer widths, input first: [784, 128, 10] is two layers. */
  sizes: number[];
  seed?: number;
  /** Emit Gemm (2-D only) instead of MatMul + Add. */
  gemm?: boolean;
  /** Append Softmax to the logits. */
  softmax?: boolean;
}

export function mlp(opts: MlpOptions): Model {
  const { sizes } = opts;
  if (sizes.length < 2) throw new Error('mlp: sizes needs at least an input and an output width');
  const b = new GraphBuilder('mlp');
  const w = new Init(b, opts.seed ?? 1);
  // x [batch, in] -> logits [batch, out]
  let h = b.input('x', DataType.FLOAT, ['batch', sizes[0]!]);
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fin, fout] = [sizes[l]!, sizes[l + 1]!];
    const last = l + 2 === sizes.length;
    if (opts.gemm) {
      h = b.op('Gemm', [h, w.weight(`fc${l}.weight`, [fin, fout], fin, Math.SQRT2), w.small(`fc${l}.bias`, [fout])], {}, { name: `fc${l}` });
    } else {
      h = b.op('MatMul', [h, w.weight(`fc${l}.weight`, [fin, fout], fin, Math.SQRT2)], {}, { name: `fc${l}` });
      h = b.op('Add', [h, w.small(`fc${l}.bias`, [fout])], {}, { name: `fc${l}.add` });
    }
    if (!last) h = b.op('Relu', [h], {}, { name: `relu${l}` });
  }
  if (opts.softmax) h = b.op('Softmax', [h], { axis: -1 }, { name: 'softmax' });
  const y = b.op('Identity', [h], {}, { outputs: ['logits'], name: 'out' });
  b.output(y, DataType.FLOAT, ['batch', sizes[sizes.length - 1]!]);
  return b.model({ opset: 17 });
}

/** 1024 → 4096 → 4096 → 1024: 24M weights, 96 MiB in fp32 (12 MiB in int4). */
export const L3_EXCEEDING_MLP_SIZES = [1024, 4096, 4096, 1024];

export function mlpBeyondL3(seed = 3): Model {
  return mlp({ sizes: L3_EXCEEDING_MLP_SIZES, seed });
}
