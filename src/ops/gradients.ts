// The table of gradient rules: op type → rule, one row per op. Families live in their own files.
// `nondiff` lists inputs that never get a gradient (shapes, indices, running statistics); they are
// never chosen as trainable parameters. Ops in EXPANSIONS are rewritten to primitives before
// differentiation, so their rows here only say which inputs are not differentiable.

import type { Node } from '../onnx/graph.js';
import type { GradRule } from './grad-context.js';
import { activationRules } from './grad-activation.js';
import { convRules } from './grad-conv.js';
import { elementwiseRules } from './grad-elementwise.js';
import { linearRules } from './grad-linear.js';
import { miscRules } from './grad-misc.js';
import { poolRules, prepareMaxPool } from './grad-pool.js';
import { quantRules } from './grad-quant.js';
import { reduceRules } from './grad-reduce.js';
import { resizeRules } from './grad-resize.js';
import { shapeRules } from './grad-shape.js';
import { softmaxRules } from './grad-softmax.js';

export interface GradRow {
  grad?: GradRule;
  nondiff?: number[];
  /** Inputs that get a gradient when computed from a trained value, but whose initializers are never chosen as parameters by default (Q/DQ scales). */
  frozen?: number[];
  /** Input slots whose integer values still carry a (float) gradient: the STE through Q → DQ. */
  throughInt?: number[];
  /** Changes the forward node before the graph is probed (MaxPool: add the Indices output). */
  prepare?: (node: Node, fresh: (base: string) => string) => void;
}

const NONDIFF: Record<string, number[]> = {
  Reshape: [1],
  Expand: [1],
  Squeeze: [1],
  Unsqueeze: [1],
  Split: [1],
  Slice: [1, 2, 3, 4],
  Gather: [1],
  ScatterElements: [1],
  ReduceSum: [1],
  ReduceMean: [1],
  Clip: [1, 2],
  Where: [0],
  Dropout: [1, 2],
  BatchNormalization: [3, 4],
  QuantizeLinear: [2],
  DequantizeLinear: [2],
  Resize: [1, 2, 3],
};

/** Inputs that carry a gradient when computed (a learned scale), but whose initializers are not trained unless named. */
const FROZEN: Record<string, number[]> = {
  QuantizeLinear: [1],
  DequantizeLinear: [1],
};

function build(): Record<string, GradRow> {
  const rules = {
    ...linearRules,
    ...elementwiseRules,
    ...activationRules,
    ...softmaxRules,
    ...convRules,
    ...poolRules,
    ...shapeRules,
    ...reduceRules,
    ...resizeRules,
    ...miscRules,
    ...quantRules,
  };
  const table: Record<string, GradRow> = {};
  for (const [op, grad] of Object.entries(rules)) table[op] = { grad, nondiff: NONDIFF[op], frozen: FROZEN[op] };
  table.MaxPool = { ...table.MaxPool, prepare: prepareMaxPool };
  table.DequantizeLinear = { ...table.DequantizeLinear, throughInt: [0] };
  table.BatchNormalization = { nondiff: NONDIFF.BatchNormalization };
  table.LayerNormalization = {};
  return table;
}

export const GRADIENTS: Record<string, GradRow> = build();
