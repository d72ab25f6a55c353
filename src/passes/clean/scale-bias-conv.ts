// Mul(s) or Add(t) by a scalar constant right before a Conv (PP-LCNet's learnable scale and bias after
// each activation), folded into the Conv:  W∗(s·x) = (W·s)∗x;  W∗(x + t) = W∗x + t·ΣW  per output
// channel. The Add only folds into a Conv without padding: a padded border would add t where the
// original padded zeros.

import type { Node } from '../../onnx/graph.js';
import type { CleanRule } from './rule.js';
import { convWeights, filterSize, removeNodes, scalarConst, setConvWeights, soleReader, splitConstOperand } from './weights.js';

/** No implicit padding: every pad 0 and auto_pad NOTSET or VALID. */
function unpadded(conv: Node): boolean {
  const auto = conv.string('auto_pad', 'NOTSET');
  return (auto === 'NOTSET' || auto === 'VALID') && conv.ints('pads', []).every((p) => p === 0);
}

export const scaleBiasConv: CleanRule = {
  name: 'scale-bias-conv',
  description: 'Mul by a scalar constant before a Conv folded into its weights; Add of a scalar before an unpadded Conv folded into its bias',
  apply(g) {
    let k = 0;
    const producers = () => g.producers();
    for (const conv of [...g.nodes]) {
      const cw = convWeights(g, conv);
      const op = cw && producers().get(conv.inputs[0] ?? '');
      if (!cw || !op?.isDefaultDomain || (op.opType !== 'Mul' && op.opType !== 'Add') || soleReader(g, op.outputs[0]) !== conv) continue;
      const split = splitConstOperand(g, op);
      const s = split && scalarConst(g, split.c);
      const rankOk = split && (g.initializers.get(split.c)?.dims.length ?? 9) <= cw.dims.length;
      if (s === undefined || !rankOk || (op.opType === 'Add' && !unpadded(conv))) continue;
      const per = filterSize(cw.dims);
      for (let o = 0; o < cw.dims[0]!; o++) {
        let sum = 0;
        for (let i = o * per; i < (o + 1) * per; i++) {
          if (op.opType === 'Mul') cw.w[i]! *= s;
          else sum += cw.w[i]!;
        }
        if (op.opType === 'Add') cw.b[o]! += s * sum;
      }
      setConvWeights(g, conv, cw);
      conv.inputs[0] = split!.x;
      removeNodes(g, op);
      k++;
    }
    return k;
  },
};
