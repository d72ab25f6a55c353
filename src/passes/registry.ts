// The table of every pass. The search, the CLI and the conformance suite read it; a test imports
// each entry so the list and the code cannot drift apart.

import type { Pass } from './pass.js';
import { checked } from './pass-check.js';
import { constantsToInitializers } from './constants-to-initializers.js';
import { upgradeOpset } from './upgrade-opset.js';
import { quantizeDynamicPass } from './quantize-dynamic.js';
import { quantizeInt4Pass } from './quantize-int4.js';
import { fp16Pass } from './fp16.js';
import { quantizeStaticPass } from './quantize-static.js';
import { foldExporterHabitsPass } from './fold-exporter-habits.js';
import { pruneStructuredPass } from './prune-structured.js';
import { pruneLayersPass } from './prune-layers.js';
import { pruneMagnitudePass } from './prune-magnitude.js';
import { cleanFp32Pass } from './clean-fp32.js';
import { pruneClassesPass } from './prune-classes.js';
import { recoverStage } from './stages/recover.js';
import { qatStage } from './stages/qat.js';
import { finetuneStage } from './stages/finetune.js';

// Each pass's output is verified (checked): a broken result is reported as edgefit's bug, typed.
export const PASSES: Pass[] = (
  [
    constantsToInitializers,
    upgradeOpset,
    foldExporterHabitsPass,
    quantizeDynamicPass as Pass,
    quantizeInt4Pass as Pass,
    fp16Pass as Pass,
    quantizeStaticPass,
    pruneStructuredPass as Pass,
    pruneLayersPass as Pass,
    pruneMagnitudePass as Pass,
    cleanFp32Pass,
    pruneClassesPass as Pass,
    // training stages (role 'train'): minutes, not seconds; they checkpoint into ctx.checkpointDir
    recoverStage as Pass,
    qatStage as Pass,
    finetuneStage as Pass,
  ] as Pass[]
).map(checked);

export function findPass(name: string): Pass | undefined {
  return PASSES.find((p) => p.name === name);
}
