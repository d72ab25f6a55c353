// Runs a chain of steps (registered passes or training stages) on a model: each step's parameters are
// validated against its declaration and its output IR is verified before the next step reads it.

import { EdgefitError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { verifyModel } from '../onnx/verify.js';
import type { Pass, PassContext, PassRecord, ParamValues } from './pass.js';
import { validateParams } from './params.js';

export interface Step {
  name: string;
  params: ParamValues;
}

/** The registered pass a step names, or a typed error naming the candidate. */
export function passFor(step: Step, passes: readonly Pass[], label: string): Pass {
  const pass = passes.find((p) => p.name === step.name);
  if (!pass) throw new EdgefitError(`candidate '${label}' names the pass '${step.name}', which is not registered`, 'E_PASS_MISSING');
  return pass;
}

/** Runs one step on `model` (not modified), validating parameters and verifying the IR after it. */
export async function applyStep(
  model: Model,
  step: Step,
  passes: readonly Pass[],
  ctx: PassContext,
  label: string,
): Promise<{ model: Model; record: PassRecord }> {
  const pass = passFor(step, passes, label);
  const params = validateParams(pass.name, pass.params, step.params);
  if (pass.needsCalibration && !ctx.calibration)
    throw new EdgefitError(`pass ${pass.name} needs calibration data and the run has no task`, 'E_NO_CALIBRATION', 'pass --task');
  const out = await pass.run(model, params, { ...ctx, seed: ctx.seed ?? 0 });
  try {
    verifyModel(out.model);
  } catch (e) {
    throw new EdgefitError(`pass ${pass.name} broke the graph: ${(e as Error).message}`, 'E_PASS_BROKE_GRAPH');
  }
  return out;
}

/** Runs the steps on a copy of `source`, in order. */
export async function applyPasses(
  source: Model,
  steps: readonly Step[],
  passes: readonly Pass[],
  ctx: PassContext,
  label: string,
): Promise<{ model: Model; records: PassRecord[] }> {
  let model = source.clone();
  const records: PassRecord[] = [];
  for (const step of steps) {
    const out = await applyStep(model, step, passes, ctx, label);
    model = out.model;
    records.push(out.record);
  }
  return { model, records };
}
