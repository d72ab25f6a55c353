// Sliding-window ops: convolutions (plain, integer, quantized, transposed, fused) and pools.

import { DataType } from '../dtype.js';
import type { Dim } from '../graph.js';
import { type Ctx, type RuleTable, type TensorInfo, isNum, withType } from './types.js';

/** Output spatial size of a conv/pool window along one axis. */
function windowDim(inp: Dim, k: number, stride: number, dilation: number, padBegin: number, padEnd: number, autoPad: string, ceil: boolean): Dim {
  if (!isNum(inp)) return undefined;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(inp / stride);
  const eff = (k - 1) * dilation + 1;
  const pads = autoPad === 'VALID' ? 0 : padBegin + padEnd;
  const span = inp + pads - eff;
  if (span < 0) return undefined;
  const out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // a window must start inside the input (or left padding) when ceil_mode rounds up
  return ceil && (out - 1) * stride >= inp + padBegin ? out - 1 : out;
}

function windowed(c: Ctx, channelsOut: Dim | 'same', kernelFrom: 'attr' | 'weight'): (TensorInfo | undefined)[] {
  const x = c.t[0];
  if (!x?.shape || x.shape.length < 3) return x ? [{ elemType: x.elemType }] : [];
  const spatial = x.shape.length - 2;
  let kernel = c.node.ints('kernel_shape');
  if (!kernel && kernelFrom === 'weight') {
    const w = c.t[1]?.shape;
    if (w && w.length === x.shape.length) kernel = w.slice(2).every(isNum) ? (w.slice(2) as number[]) : undefined;
  }
  const channels = channelsOut === 'same' ? x.shape[1] : channelsOut;
  if (!kernel || kernel.length !== spatial) return [{ elemType: x.elemType, shape: [x.shape[0], channels, ...new Array<Dim>(spatial).fill(undefined)] }];
  const strides = c.node.ints('strides', new Array<number>(spatial).fill(1));
  const dil = c.node.ints('dilations', new Array<number>(spatial).fill(1));
  const pads = c.node.ints('pads', new Array<number>(2 * spatial).fill(0));
  const autoPad = c.node.string('auto_pad', 'NOTSET');
  const ceil = c.node.int('ceil_mode', 0) === 1;
  const dims: Dim[] = [];
  for (let k = 0; k < spatial; k++)
    dims.push(windowDim(x.shape[2 + k], kernel[k]!, strides[k] ?? 1, dil[k] ?? 1, pads[k] ?? 0, pads[k + spatial] ?? 0, autoPad, ceil));
  const out: TensorInfo = { elemType: x.elemType, shape: [x.shape[0], channels, ...dims] };
  return c.node.opType === 'MaxPool' && c.node.outputs.length > 1 ? [out, { elemType: DataType.INT64, shape: out.shape && [...out.shape] }] : [out];
}

function convTranspose(c: Ctx): (TensorInfo | undefined)[] {
  const x = c.t[0];
  const w = c.t[1]?.shape;
  if (!x?.shape || !w || w.length !== x.shape.length) return x ? [{ elemType: x.elemType }] : [];
  const spatial = x.shape.length - 2;
  const group = c.node.int('group', 1);
  const cout = isNum(w[1]) ? w[1] * group : undefined;
  const kernel = c.node.ints('kernel_shape') ?? (w.slice(2).every(isNum) ? (w.slice(2) as number[]) : undefined);
  const explicit = c.node.ints('output_shape');
  if (explicit) return [{ elemType: x.elemType, shape: [x.shape[0], cout, ...explicit] }];
  if (!kernel) return [{ elemType: x.elemType, shape: [x.shape[0], cout, ...new Array<Dim>(spatial).fill(undefined)] }];
  const strides = c.node.ints('strides', new Array<number>(spatial).fill(1));
  const dil = c.node.ints('dilations', new Array<number>(spatial).fill(1));
  const pads = c.node.ints('pads', new Array<number>(2 * spatial).fill(0));
  const outPad = c.node.ints('output_padding', new Array<number>(spatial).fill(0));
  const autoPad = c.node.string('auto_pad', 'NOTSET');
  const dims: Dim[] = [];
  for (let k = 0; k < spatial; k++) {
    const d = x.shape[2 + k];
    if (!isNum(d)) dims.push(undefined);
    else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') dims.push(d * strides[k]!);
    else dims.push(strides[k]! * (d - 1) + outPad[k]! + ((kernel[k]! - 1) * dil[k]! + 1) - pads[k]! - pads[k + spatial]!);
  }
  return [{ elemType: x.elemType, shape: [x.shape[0], cout, ...dims] }];
}

/** Global pools keep batch and channels and make every spatial dim 1. */
const globalPool = (c: Ctx): (TensorInfo | undefined)[] => (c.t[0] ? [{ elemType: c.t[0].elemType, shape: c.t[0].shape?.map((d, k) => (k < 2 ? d : 1)) }] : []);
const convRule = (c: Ctx) => windowed(c, c.t[1]?.shape?.[0], 'weight');
const poolRule = (c: Ctx) => windowed(c, 'same', 'attr');

export const convPoolRules: RuleTable = {
  Conv: convRule,
  ConvInteger: (c) => convRule(c).map((t) => withType(t, DataType.INT32)),
  QLinearConv: (c) => {
    // (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B)
    const shifted: Ctx = { ...c, t: [c.t[0], c.t[3]] };
    return windowed(shifted, c.t[3]?.shape?.[0], 'weight').map((t) => withType(t, c.t[7]?.elemType ?? c.t[0]?.elemType ?? DataType.UINT8));
  },
  ConvTranspose: convTranspose,
  MaxPool: poolRule,
  AveragePool: poolRule,
  LpPool: poolRule,
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
};

export const msConvPoolRules: RuleTable = {
  QLinearGlobalAveragePool: globalPool,
  FusedConv: convRule,
  NhwcConv: () => [],
};
