// One exact fp32 rewrite of clean-fp32: what it folds, and the opset its output needs.

import type { Graph } from '../../onnx/graph.js';

export interface CleanRule {
  name: string;
  description: string;
  /** The default-domain opset its rewrite needs (HardSwish exists from 14); the pass upgrades to it first. */
  minOpset?: number;
  /** Rewrites every match in `g` (its own initializers only) and returns how many. */
  apply(g: Graph): number;
}
