// Conv → Mul(c) or Conv → Add(c), c a per-output-channel or scalar constant (PP-LCNet's learnable
// scale and bias after each conv), folded into the Conv:  (W∗x + b)·c = (W·c)∗x + b·c;  W∗x + b + c.

import type { CleanRule } from './rule.js';
import { absorbInto, convWeights, filterSize, perChannel, setConvWeights, soleReader, splitConstOperand } from './weights.js';

export const convScaleBias: CleanRule = {
  name: 'conv-scale-bias',
  description: 'Mul/Add by a per-channel or scalar constant after a Conv folded into its weights and bias',
  apply(g) {
    let k = 0;
    for (const conv of [...g.nodes]) {
      const cw = convWeights(g, conv);
      const op = soleReader(g, conv.outputs[0]);
      if (!cw || !op?.isDefaultDomain || (op.opType !== 'Mul' && op.opType !== 'Add')) continue;
      const split = splitConstOperand(g, op);
      const m = cw.dims[0]!;
      const c = split && split.x === conv.outputs[0] ? perChannel(g, split.c, m, cw.dims.length) : undefined;
      if (!c) continue;
      const per = filterSize(cw.dims);
      for (let o = 0; o < m; o++) {
        if (op.opType === 'Add') cw.b[o]! += c[o]!;
        else {
          cw.b[o]! *= c[o]!;
          for (let i = o * per; i < (o + 1) * per; i++) cw.w[i]! *= c[o]!;
        }
      }
      setConvWeights(g, conv, cw);
      absorbInto(g, conv, op);
      k++;
    }
    return k;
  },
};
