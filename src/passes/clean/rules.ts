// The rows of clean-fp32, in the order they run (each to a fixpoint with the others): folds into a
// Conv first, so that the HardSwish matcher sees conv → activation, then the scale and shift after it.

import { convScaleBias } from './conv-scale-bias.js';
import { hardswish } from './hardswish.js';
import type { CleanRule } from './rule.js';
import { scaleBiasConv } from './scale-bias-conv.js';

export const CLEAN_RULES: CleanRule[] = [convScaleBias, hardswish, scaleBiasConv];

// Dropped after measuring: folding BatchNormalization into the Conv before it. ORT does that itself at
// load time: its optimized graph of PP-OCRv4 rec, det and cls is the same node for node with or without
// the rule (bench/clean.ts, ortOps), so it cannot change latency; quantize-static folds it on its own.
// Dropped after measuring: x·s + t before a padded Conv rewritten as (x + t/s)·s so that the scale folds
// (13 fewer Mul in ORT's graph of rec), because the gain was within noise: 1.018× p50 [0.96, 1.09].
