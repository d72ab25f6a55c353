// x·s + t before a padded Conv, s and t scalar constants, rewritten as (x + t/s)·s, so that the scale
// sits next to the Conv and scale-bias-conv folds it: one elementwise op instead of two. (The shift
// cannot fold into a padded Conv; see scale-bias-conv.) Exact up to float rounding; s = 0 is left alone.

import { DataType } from '../../onnx/dtype.js';
import { Tensor } from '../../onnx/tensor.js';
import type { CleanRule } from './rule.js';
import { convWeights, scalarConst, soleReader, splitConstOperand } from './weights.js';

export const scaleShiftSwap: CleanRule = {
  name: 'scale-shift-swap',
  description: 'x·s + t before a padded Conv rewritten as (x + t/s)·s, so the scale folds into the Conv',
  apply(g) {
    let k = 0;
    for (const conv of [...g.nodes]) {
      if (!convWeights(g, conv)) continue;
      const producers = g.producers();
      const add = producers.get(conv.inputs[0] ?? '');
      const mul = add?.opType === 'Add' && add.isDefaultDomain ? producers.get(add.inputs.find((i) => !g.initializers.has(i)) ?? '') : undefined;
      if (!add || mul?.opType !== 'Mul' || !mul.isDefaultDomain) continue;
      if (soleReader(g, add.outputs[0]) !== conv || soleReader(g, mul.outputs[0]) !== add) continue;
      const [ms, as] = [splitConstOperand(g, mul), splitConstOperand(g, add)];
      const [s, t] = [scalarConst(g, ms?.c), scalarConst(g, as?.c)];
      if (s === undefined || t === undefined || s === 0 || as!.x !== mul.outputs[0]) continue;
      const rank = Math.max(g.initializers.get(ms!.c)!.dims.length, g.initializers.get(as!.c)!.dims.length);
      const name = g.namer()(`${as!.c}_over_scale`);
      g.initializers.set(name, Tensor.fromNumbers(name, DataType.FLOAT, Array(rank).fill(1), [Math.fround(t / s)]));
      // the Mul node becomes the shift, the Add node the scale: the order of nodes stays topological
      mul.opType = 'Add';
      mul.inputs = [ms!.x, name];
      add.opType = 'Mul';
      add.inputs = [mul.outputs[0]!, ms!.c];
      k++;
    }
    return k;
  },
};
