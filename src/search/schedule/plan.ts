// The chain plan for a run: which quantizing transforms extend promising chains, the recovery rungs
// and QAT steps, and the depth the time limit affords. Built from the registered passes' declarations.

import type { Pass } from '../../passes/pass.js';
import { prepPasses, QAT_STAGE, RECOVER_STAGE, roleOf, stepRungs, trainStage, type SpaceOptions } from '../space.js';
import type { ChainPlan } from './chains.js';
import { depthFor } from './depth.js';

/** How near the front a chain must be to be extended by default: 15% slower than an undominated point. */
export const NEAR_FRONT_MARGIN = 0.15;

/** Transforms that quantize: every transform that changes a model with its defaults (not those that need recovery). */
function quantizers(opts: SpaceOptions): Pass[] {
  return opts.passes.filter((p) => roleOf(p) === 'transform' && !p.effect && !opts.skip?.includes(p.name) && (!p.needsCalibration || opts.hasCalibration));
}

export function chainPlan(opts: SpaceOptions & { timeLimitMs: number; margin?: number }): ChainPlan {
  const prep = new Set(prepPasses(opts).map((p) => p.name));
  const qs = quantizers(opts).filter((p) => !prep.has(p.name));
  const recover = trainStage(opts, RECOVER_STAGE);
  const qat = trainStage(opts, QAT_STAGE);
  return {
    quantizers: qs.map((p) => ({ name: p.name, params: {} })),
    // a calibrated quantizer writes static int8 QDQ: QAT's input
    qdq: qs.filter((p) => p.needsCalibration).map((p) => p.name),
    ...(recover ? { recover: { name: recover.name, rungs: stepRungs(recover) } } : {}),
    ...(qat ? { qat: { name: qat.name, steps: stepRungs(qat)[0]!, ...(qat.params.lsq?.type === 'boolean' ? { lsq: true } : {}) } } : {}),
    depth: depthFor(opts.timeLimitMs),
    margin: opts.margin ?? NEAR_FRONT_MARGIN,
  };
}
