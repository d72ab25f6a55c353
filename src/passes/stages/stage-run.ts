// What the training stages share: the context they cannot run without (teacher, samples), and the
// record of a run of the step loop (steps, resume point, loss before and after, wall time, why it stopped).

import { DataType, dtypeName } from '../../onnx/dtype.js';
import { EdgefitError } from '../../onnx/errors.js';
import type { ValueInfo } from '../../onnx/graph.js';
import type { Model } from '../../onnx/model.js';
import type { StageTrainOptions, StageTrainResult } from '../../train/stage-train.js';
import type { ParamValues, PassContext, PassRecord, StageData } from '../pass.js';

/**
 * Refuses a model the stages cannot feed: they train on one float tensor per sample, so a model with
 * token ids, a mask, a recurrent state or a fixed sample rate among its inputs gets a typed error here
 * rather than ORT's complaint about a missing feed halfway through.
 */
export function oneFloatInput(name: string, model: Model): void {
  if (feedsOneFloat(model)) return;
  throw new EdgefitError(
    `training stage ${name} feeds the model one float32 input per sample, and this model's inputs are ${inputList(model)}`,
    'E_STAGE_INPUTS',
    'leave the training stages out of the search (--passes without recover, finetune and qat), or train the model where its other inputs can be fed',
  );
}

/** The model's real inputs with their element types, for messages: "'input' (float32), 'sr' (int64)". */
export function inputList(model: Model): string {
  const list = model.graph
    .realInputs()
    .map((i) => `'${i.name}' (${dtypeName(elemType(i) ?? 0)})`)
    .join(', ');
  return list || 'none';
}

const elemType = (i: ValueInfo): number | undefined => (i.type && 'elemType' in i.type ? i.type.elemType : undefined);

/** Whether the training stages can feed the model: exactly one real input, of float32 (or undeclared type). */
export function feedsOneFloat(model: Model): boolean {
  const inputs = model.graph.realInputs();
  return inputs.length === 1 && (elemType(inputs[0]!) ?? DataType.FLOAT) === DataType.FLOAT;
}

/** The teacher and training samples a stage needs, or a typed error that says how to give them. */
export function stageInputs(name: string, ctx: PassContext): { teacher: Model; data: StageData } {
  if (!ctx.teacher)
    throw new EdgefitError(
      `training stage ${name} needs the source model as its teacher and none was given`,
      'E_STAGE_NO_TEACHER',
      'run it inside a chain (optimize), which passes the source model',
    );
  if (!ctx.trainData)
    throw new EdgefitError(
      `training stage ${name} needs training samples and the run has none`,
      'E_STAGE_NO_DATA',
      'pass --task (or --data with your own inputs)',
    );
  return { teacher: ctx.teacher, data: ctx.trainData };
}

/** The step loop's options from the context: seed, threads, stop conditions, checkpoint folder. */
export function loopContext(ctx: PassContext): Pick<StageTrainOptions, 'seed' | 'threads' | 'signal' | 'deadline' | 'checkpointDir'> {
  return {
    seed: ctx.seed ?? 0,
    threads: ctx.threads ?? 1,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
    ...(ctx.checkpointDir ? { checkpointDir: ctx.checkpointDir } : {}),
  };
}

/**
 * Refuses the weights of a training run that diverged: its loss on the fixed probe batch ended above
 * twice where it began, plus 1, or not finite. A stage must not hand on a model its own training
 * wrecked (QAT of a pruned int8 rec model once went from 1.8 to 40.8, every frame blank afterwards).
 */
export function refuseDiverged(name: string, r: Pick<StageTrainResult, 'lossBefore' | 'lossAfter' | 'steps'>, lr: unknown): void {
  if (r.lossAfter <= 2 * r.lossBefore + 1) return; // false for NaN too
  throw new EdgefitError(
    `training stage ${name} diverged: its loss on the probe batch went from ${r.lossBefore.toFixed(3)} to ${r.lossAfter.toFixed(3)} in ${r.steps} steps; its weights are not used`,
    'E_TRAIN_DIVERGED',
    `give the stage a lower learning rate (it had ${String(lr)})`,
  );
}

/** The record of a training stage's run (after refuseDiverged: a diverged run has no record, it fails). */
export function trainRecord(name: string, params: ParamValues, asked: number, r: StageTrainResult, samples: number): PassRecord {
  refuseDiverged(name, r, params.lr);
  const notes: string[] = [];
  if (r.resumedFromStep > 0) notes.push(`resumed from the checkpoint at step ${r.resumedFromStep}`);
  if (r.stopped)
    notes.push(
      `stopped at step ${r.steps} of ${asked} (${r.stopped === 'signal' ? 'cancelled' : 'deadline reached'}): the weights are those of step ${r.steps}`,
    );
  return {
    pass: name,
    params,
    stats: {
      steps: r.steps,
      stepsAsked: asked,
      resumedFromStep: r.resumedFromStep,
      lossBefore: r.lossBefore,
      lossAfter: r.lossAfter,
      wallMs: Math.round(r.wallMs),
      samples,
      teacherRuns: r.teacherRuns,
      complete: r.steps >= asked,
      ...(r.stopped ? { stopped: r.stopped } : {}),
    },
    skipped: [],
    notes,
  };
}

export const sampleCount = (d: StageData): number => d.x.length / d.sampleShape.reduce((p, q) => p * q, 1);
