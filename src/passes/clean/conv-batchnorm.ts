// Conv → BatchNormalization (inference form) folded into the Conv's weights and bias:
//   y = γ·(W∗x + b − μ)/√(σ²+ε) + β  =  (W·k)∗x + (b − μ)·k + β,   k = γ/√(σ²+ε)   (per output channel)

import type { CleanRule } from './rule.js';
import { absorbInto, convWeights, filterSize, floatConst, setConvWeights, soleReader } from './weights.js';

export const convBatchnorm: CleanRule = {
  name: 'conv-batchnorm',
  description: 'BatchNormalization after a Conv folded into its weights and bias',
  apply(g) {
    let k = 0;
    for (const conv of [...g.nodes]) {
      const cw = convWeights(g, conv);
      const bn = soleReader(g, conv.outputs[0]);
      if (!cw || bn?.opType !== 'BatchNormalization' || !bn.isDefaultDomain || bn.inputs[0] !== conv.outputs[0]) continue;
      if (bn.outputs.filter(Boolean).length !== 1 || bn.int('training_mode', 0) !== 0 || bn.int('spatial', 1) !== 1) continue;
      const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => floatConst(g, bn.inputs[i]));
      const m = cw.dims[0]!;
      if (![gamma, beta, mean, variance].every((t) => t?.length === m)) continue;
      const eps = bn.float('epsilon', 1e-5);
      const per = filterSize(cw.dims);
      for (let c = 0; c < m; c++) {
        const s = gamma![c]! / Math.sqrt(variance![c]! + eps);
        for (let i = c * per; i < (c + 1) * per; i++) cw.w[i]! *= s;
        cw.b[c] = (cw.b[c]! - mean![c]!) * s + beta![c]!;
      }
      setConvWeights(g, conv, cw);
      absorbInto(g, conv, bn);
      k++;
    }
    return k;
  },
};
