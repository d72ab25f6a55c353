// Conv (any groups, strides, pads, dilations; 1-D/2-D/3-D), and ConvTranspose (its adjoint), as standard ops:
//   x (N,C,S…), w (M,C/G,K…), y (N,M,So…)
//   dx = ConvTranspose(dy, w) with the same strides/pads/dilations/groups and the output padding that
//        gives back x's size.
//   dw[m,c′,k] = Σ_n,o dy[n,m,o]·xpad[n,g·Cg+c′, o·s + k·d]: itself a Conv whose "batch" is c′, whose input
//        channels are (g, n), whose kernel is dy, with strides and dilations swapped; then cut to K.
//   db = Σ_n,o dy

import { UsageError } from '../onnx/errors.js';
import type { GradContext, GradRule } from './grad-context.js';

export interface ConvGeometry {
  spatial: number;
  strides: number[];
  dilations: number[];
  pads: number[];
}

/** Explicit pads for a Conv/Pool node (auto_pad resolved from the probed shapes). */
export function convGeometry(c: GradContext, kernel: number[]): ConvGeometry {
  const x = c.shape(c.x[0]!);
  const y = c.shape(c.y[0]!);
  const spatial = x.length - 2;
  const strides = c.node.ints('strides') ?? new Array<number>(spatial).fill(1);
  const dilations = c.node.ints('dilations') ?? new Array<number>(spatial).fill(1);
  let pads = c.node.ints('pads') ?? new Array<number>(2 * spatial).fill(0);
  const autoPad = c.node.string('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = new Array<number>(2 * spatial).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * spatial).fill(0);
    for (let k = 0; k < spatial; k++) {
      const total = Math.max(0, (y[k + 2]! - 1) * strides[k]! + (kernel[k]! - 1) * dilations[k]! + 1 - x[k + 2]!);
      const small = Math.floor(total / 2);
      pads[k] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[k + spatial] = total - pads[k]!;
    }
  }
  return { spatial, strides, dilations, pads };
}

/**
 * ConvTranspose of `g` with kernel `w` back to the spatial size of `x`: picks the output padding, and
 * pads or cuts the far edge where the forward windows did not cover x exactly (ceil mode).
 */
export function transposeBack(c: GradContext, g: string, w: string, kernel: number[], geo: ConvGeometry, group: number, x: string): string {
  const xs = c.shape(x);
  const gs = c.shape(c.y[0]!);
  const outPad: number[] = [];
  const cut: number[] = [];
  for (let k = 0; k < geo.spatial; k++) {
    const natural = geo.strides[k]! * (gs[k + 2]! - 1) + (kernel[k]! - 1) * geo.dilations[k]! + 1 - geo.pads[k]! - geo.pads[k + geo.spatial]!;
    const diff = xs[k + 2]! - natural;
    // ORT wants output_padding smaller than the stride; a larger gap is zero-padded after.
    outPad.push(diff > 0 ? Math.min(diff, geo.strides[k]! - 1) : 0);
    cut.push(diff);
  }
  let r = c.op('ConvTranspose', [g, w], { strides: geo.strides, dilations: geo.dilations, pads: geo.pads, group, output_padding: outPad });
  if (cut.some((d, k) => d < 0 || d > outPad[k]!)) {
    const extra = cut.map((d, k) => Math.max(0, d - outPad[k]!));
    if (extra.some((e) => e > 0)) r = c.op('Pad', [r, c.int64s([...new Array<number>(geo.spatial + 2).fill(0), 0, 0, ...extra])]);
    r = c.op('Slice', [
      r,
      c.int64s(new Array<number>(geo.spatial).fill(0)),
      c.int64s(xs.slice(2)),
      c.int64s(Array.from({ length: geo.spatial }, (_, k) => k + 2)),
    ]);
  }
  return r;
}

/**
 * The kernel's gradient of a Conv from `inp` (its input, N×(G·Cg)×S…) to the gradient `g` of its output
 * (N×M×So…): dw[m,c′,k] = Σ_n,o g[n,m,o]·inpad[n,g·Cg+c′, o·s + k·d], itself a Conv whose "batch" is c′,
 * whose input channels are (g, n), whose kernel is g, with strides and dilations swapped; cut to K.
 */
function weightGrad(c: GradContext, inp: string, g: string, kernel: number[], geo: ConvGeometry, group: number, Cg: number): string {
  const sp = Array.from({ length: geo.spatial }, (_, k) => k + 2);
  let moved: string;
  if (group === 1) moved = c.op('Transpose', [inp], { perm: [1, 0, ...sp] });
  else {
    const tail = c.op('Slice', [c.op('Shape', [inp]), c.int64s([2]), c.int64s([1 << 30])]);
    const split = c.op('Reshape', [inp, c.op('Concat', [c.int64s([0, group, Cg]), tail], { axis: 0 })]);
    const t = c.op('Transpose', [split], { perm: [2, 1, 0, ...sp.map((k) => k + 1)] });
    moved = c.op('Reshape', [t, c.op('Concat', [c.int64s([Cg, -1]), tail], { axis: 0 })]);
  }
  const kern = c.op('Transpose', [g], { perm: [1, 0, ...sp] });
  const r = c.op('Conv', [moved, kern], { strides: geo.dilations, dilations: geo.strides, pads: geo.pads, group });
  const rt = c.op('Transpose', [r], { perm: [1, 0, ...sp] });
  return c.op('Slice', [rt, c.int64s(new Array<number>(geo.spatial).fill(0)), c.int64s(kernel), c.int64s(sp)]);
}

const conv: GradRule = (c) => {
  const [x, w, bias] = [c.x[0]!, c.x[1]!, c.x[2]];
  const g = c.gy[0]!;
  const ws = c.shape(w);
  const kernel = ws.slice(2);
  const geo = convGeometry(c, kernel);
  const group = c.node.int('group', 1);
  const Cg = ws[1]!;
  if (geo.spatial < 1) throw new UsageError(`Conv '${c.node.name}': input must have spatial dims`);
  const dx = c.needs[0] ? transposeBack(c, g, w, kernel, geo, group, x) : undefined;
  const dw = c.needs[1] ? weightGrad(c, x, g, kernel, geo, group, Cg) : undefined;
  const db = bias && c.needs[2] ? c.reduce('ReduceSum', g, [0, ...Array.from({ length: geo.spatial }, (_, k) => k + 2)], false) : undefined;
  return [dx, dw, db];
};

/**
 * ConvTranspose(x, w) is the adjoint of Conv(·, w) from y's space back to x's (w: C×M/G×K…, the same
 * strides, pads, dilations and groups), so dx = Conv(dy, w), whose output is x's size whatever the
 * output_padding (it is under the stride); dw is that Conv's kernel gradient with dy as its input and x
 * as its output's gradient; db = Σ_n,o dy. Explicit pads only: auto_pad and output_shape are refused.
 */
const convTranspose: GradRule = (c) => {
  const [x, w, bias] = [c.x[0]!, c.x[1]!, c.x[2]];
  const g = c.gy[0]!;
  const ws = c.shape(w);
  const kernel = ws.slice(2);
  if (c.node.string('auto_pad', 'NOTSET') !== 'NOTSET' || c.node.ints('output_shape'))
    throw new UsageError(`ConvTranspose '${c.node.name}': training supports explicit pads only (no auto_pad, no output_shape)`);
  const geo = convGeometry(c, kernel); // explicit pads: the attributes and their defaults, as for Conv
  const group = c.node.int('group', 1);
  const dx = c.needs[0] ? c.op('Conv', [g, w], { strides: geo.strides, dilations: geo.dilations, pads: geo.pads, group }) : undefined;
  const dw = c.needs[1] ? weightGrad(c, g, x, kernel, geo, group, ws[1]!) : undefined;
  const db = bias && c.needs[2] ? c.reduce('ReduceSum', g, [0, ...Array.from({ length: geo.spatial }, (_, k) => k + 2)], false) : undefined;
  return [dx, dw, db];
};

export const convRules: Record<string, GradRule> = { Conv: conv, ConvTranspose: convTranspose };
