// Normalisations are differentiated by first rewriting them into primitive ops whose rules exist:
//   BatchNormalization, frozen (running stats):   y = (x − μ)·γ/√(σ² + ε) + β
//   BatchNormalization, batch stats (training):   μ_b, σ²_b over (N, spatial); y as above with μ_b, σ²_b;
//                                                 μ_b and σ²_b are exposed so the loop can update the running stats.
//   LayerNormalization over axes [axis, rank):    y = (x − mean)/√(var + ε)·scale + bias

import type { GradContext } from './grad-context.js';

export interface BatchStats {
  /** Initializer names of the running statistics. */
  runningMean: string;
  runningVar: string;
  /** Values holding this batch's statistics (shape [C]). */
  batchMean: string;
  batchVar: string;
  momentum: number;
}

export interface ExpandOptions {
  batchNorm: 'frozen' | 'batch';
}

/** Emits the primitive form of the node, ending in its first output; returns stats to update, if any. */
export type Expansion = (c: GradContext, opts: ExpandOptions) => BatchStats | undefined;

function finish(c: GradContext, value: string): void {
  c.b.op('Identity', [value], {}, { outputs: [c.y[0]!], name: c.b.name(`${c.node.name || c.node.opType}/out`) });
}

const batchNormalization: Expansion = (c, opts) => {
  const [x, scale, bias, mean, variance] = c.x as [string, string, string, string, string];
  const r = c.rank(x);
  const eps = c.node.float('epsilon', 1e-5);
  const spatial = Array.from({ length: r - 2 }, (_, k) => k + 1);
  const perChannel = (v: string) => (spatial.length ? c.unsqueeze(v, spatial) : v);
  if (opts.batchNorm === 'frozen' || r < 2) {
    const a = c.op('Div', [scale, c.op('Sqrt', [c.op('Add', [variance, c.scalar(eps, x)])])]);
    finish(c, c.op('Add', [c.op('Mul', [c.op('Sub', [x, perChannel(mean)]), perChannel(a)]), perChannel(bias)]));
    return undefined;
  }
  const axes = [0, ...Array.from({ length: r - 2 }, (_, k) => k + 2)];
  const mu = c.reduce('ReduceMean', x, axes, true);
  const d = c.op('Sub', [x, mu]);
  const v = c.reduce('ReduceMean', c.op('Mul', [d, d]), axes, true);
  const y = c.op('Div', [d, c.op('Sqrt', [c.op('Add', [v, c.scalar(eps, x)])])]);
  finish(c, c.op('Add', [c.op('Mul', [y, perChannel(scale)]), perChannel(bias)]));
  const flat = (t: string) => c.op('Reshape', [t, c.int64s([-1])]);
  return { runningMean: mean, runningVar: variance, batchMean: flat(mu), batchVar: flat(v), momentum: c.node.float('momentum', 0.9) };
};

const layerNormalization: Expansion = (c) => {
  const [x, scale, bias] = [c.x[0]!, c.x[1]!, c.x[2]];
  const r = c.rank(x);
  const axis = c.node.int('axis', -1);
  const first = axis < 0 ? axis + r : axis;
  const axes = Array.from({ length: r - first }, (_, k) => k + first);
  const eps = c.node.float('epsilon', 1e-5);
  const mu = c.reduce('ReduceMean', x, axes, true);
  const d = c.op('Sub', [x, mu]);
  const v = c.reduce('ReduceMean', c.op('Mul', [d, d]), axes, true);
  let y = c.op('Mul', [c.op('Div', [d, c.op('Sqrt', [c.op('Add', [v, c.scalar(eps, x)])])]), scale]);
  if (bias) y = c.op('Add', [y, bias]);
  finish(c, y);
  return undefined;
};

export const EXPANSIONS: Record<string, Expansion> = { BatchNormalization: batchNormalization, LayerNormalization: layerNormalization };
