// Normalizations: output like the input; LayerNormalization also returns its mean and inverse std.

import { DataType } from '../dtype.js';
import { normAxis } from './axis.js';
import { type Ctx, type RuleTable, type TensorInfo, same } from './types.js';

function layerNorm(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  const out: (TensorInfo | undefined)[] = [{ ...x, shape: x.shape && [...x.shape] }];
  if (x.shape) {
    const axis = normAxis(c, c.node.int('axis', -1), x.shape.length);
    const stats = x.shape.map((d, k) => (k < axis ? d : 1));
    out.push({ elemType: DataType.FLOAT, shape: stats }, { elemType: DataType.FLOAT, shape: [...stats] });
  }
  return out;
}

export const normalizationRules: RuleTable = {
  BatchNormalization: same,
  LayerNormalization: layerNorm,
};

export const msNormalizationRules: RuleTable = {
  SkipLayerNormalization: same,
  SkipSimplifiedLayerNormalization: same,
  SimplifiedLayerNormalization: same,
};
