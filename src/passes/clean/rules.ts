// The rows of clean-fp32, in the order they run (each to a fixpoint with the others): folds into a
// Conv first, so that the HardSwish matcher sees conv → activation, then the scale and shift after it
// (a shift that cannot fold is moved in front of its scale, which then folds in the next round).

import { convScaleBias } from './conv-scale-bias.js';
import { hardswish } from './hardswish.js';
import type { CleanRule } from './rule.js';
import { scaleBiasConv } from './scale-bias-conv.js';
import { scaleShiftSwap } from './scale-shift-swap.js';

export const CLEAN_RULES: CleanRule[] = [convScaleBias, hardswish, scaleBiasConv, scaleShiftSwap];

// Dropped after measuring: folding BatchNormalization into the Conv before it. ORT does that itself at
// load time: its optimized graph of PP-OCRv4 rec, det and cls is the same node for node with or without
// the rule (bench/clean.ts, ortOps), so it cannot change latency; quantize-static folds it on its own.
