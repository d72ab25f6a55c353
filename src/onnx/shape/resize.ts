// Resize and Upsample: output dims from `sizes`, or from `scales`, over all axes or the `axes` attribute.

import type { Dim } from '../graph.js';
import { normAxes } from './axis.js';
import { type Ctx, type RuleTable, type TensorInfo, isNum } from './types.js';

function resize(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x) return [];
  if (!x.shape) return [{ elemType: x.elemType }];
  const rank = x.shape.length;
  // opset 10 Resize / Upsample 9: (X, scales); opset 11+: (X, roi, scales, sizes); Upsample 7: attr
  const isUpsample = c.node.opType === 'Upsample';
  const scales = isUpsample ? (c.node.floats('scales') ?? c.v[1]) : c.opset < 11 ? c.v[1] : c.v[2];
  const sizes = !isUpsample && c.opset >= 11 ? c.v[3] : undefined;
  const attrAxes = c.node.ints('axes');
  const axes = attrAxes ? normAxes(c, attrAxes, rank) : x.shape.map((_, k) => k);
  const shape = [...x.shape];
  if (sizes && sizes.length === axes.length) {
    axes.forEach((a, k) => {
      shape[a] = sizes[k];
    });
    return [{ elemType: x.elemType, shape }];
  }
  if (scales && scales.length === axes.length && scales.every(isNum)) {
    axes.forEach((a, k) => {
      const d = x.shape![a];
      const s = scales[k] as number;
      shape[a] = s === 1 ? d : isNum(d) ? Math.floor(d * s) : undefined;
    });
    return [{ elemType: x.elemType, shape }];
  }
  return [{ elemType: x.elemType, shape: new Array<Dim>(rank).fill(undefined) }];
}

export const resizeRules: RuleTable = {
  Resize: resize,
  Upsample: resize,
};
