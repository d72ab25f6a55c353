// What the training stages share: the context they cannot run without (teacher, samples), and the
// record of a run of the step loop (steps, resume point, loss before and after, wall time, why it stopped).

import { EdgefitError } from '../../onnx/errors.js';
import type { Model } from '../../onnx/model.js';
import type { StageTrainOptions, StageTrainResult } from '../../train/stage-train.js';
import type { ParamValues, PassContext, PassRecord, StageData } from '../pass.js';

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

export function trainRecord(name: string, params: ParamValues, asked: number, r: StageTrainResult, samples: number): PassRecord {
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
