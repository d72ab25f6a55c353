// The rule tables: op type → shape rule, for the default domain and com.microsoft, gathered from one
// file per op family. An op in two families is a mistake, so the tables are merged with a check.

import { constantRules } from './constant.js';
import { controlFlowRules } from './control-flow.js';
import { convPoolRules, msConvPoolRules } from './conv-pool.js';
import { elementwiseRules, msElementwiseRules, unaryRules } from './elementwise.js';
import { layoutRules } from './layout.js';
import { matmulRules, msMatmulRules } from './matmul.js';
import { msNormalizationRules, normalizationRules } from './normalization.js';
import { msQuantizeRules, quantizeRules } from './quantize.js';
import { reduceRules } from './reduce.js';
import { resizeRules } from './resize.js';
import { sliceConcatRules } from './slice-concat.js';
import type { RuleTable } from './types.js';

function merged(...tables: RuleTable[]): RuleTable {
  const out: RuleTable = {};
  for (const t of tables)
    for (const [op, rule] of Object.entries(t)) {
      if (op in out) throw new Error(`shape rule for ${op} is defined twice`);
      out[op] = rule;
    }
  return out;
}

/** Default-domain ops. */
export const RULES: RuleTable = merged(
  elementwiseRules,
  unaryRules,
  matmulRules,
  convPoolRules,
  normalizationRules,
  layoutRules,
  sliceConcatRules,
  reduceRules,
  resizeRules,
  constantRules,
  quantizeRules,
  controlFlowRules,
);

/** com.microsoft contrib ops that ORT's optimizers and the quantizers emit. */
export const MS_RULES: RuleTable = merged(msElementwiseRules, msMatmulRules, msConvPoolRules, msNormalizationRules, msQuantizeRules);
