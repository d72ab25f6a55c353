// Quantization ops: QuantizeLinear (output type from the attribute, the zero point or uint8),
// DequantizeLinear (the scale's type), DynamicQuantizeLinear.

import { DataType } from '../dtype.js';
import { type Ctx, type RuleTable, type TensorInfo, withType } from './types.js';

function quantizeLinear(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  const out = c.node.int('output_dtype') || c.t[2]?.elemType || DataType.UINT8;
  return [x ? withType(x, out) : { elemType: out }];
}

function dequantizeLinear(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  const ty = c.t[1]?.elemType ?? DataType.FLOAT;
  return [x ? withType(x, ty) : { elemType: ty }];
}

export const quantizeRules: RuleTable = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: (c) => [withType(c.t[0], DataType.UINT8), { elemType: DataType.FLOAT, shape: [] }, { elemType: DataType.UINT8, shape: [] }],
};

export const msQuantizeRules: RuleTable = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
};
