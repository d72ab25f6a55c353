// What the training stages do on an OCR task (the samples carry texts): CTC on the texts, mixed with the
// teacher's per-frame probabilities at weight `kd` (src/train/ctc-teacher.ts). The texts teach the task's
// own conventions (its spacing, say), which the teacher does not know; the teacher gives every frame a
// dense target, and a sample whose text does not fit still learns from it.

import type { Model } from '../../onnx/model.js';
import { trainCtc } from '../../train/ctc-train.js';
import type { PassContext, PassRecord, StageData } from '../pass.js';
import { loopContext, sampleCount, trainRecord } from './stage-run.js';

export interface TextStageParams {
  steps: number;
  lr: number;
  batch: number;
  /** Weight of the teacher term, 0 for CTC alone. */
  kd: number;
  [k: string]: number;
}

/** Whether the stage's samples train with CTC: texts as class indices, and the blank class. */
export const hasTexts = (data: StageData): boolean => data.sequences !== undefined && data.blank !== undefined;

export async function trainOnTexts(
  name: string,
  model: Model,
  params: TextStageParams,
  ctx: PassContext,
  data: StageData,
  opts: { teacher: Model; trainable?: string[] },
): Promise<{ model: Model; record: PassRecord }> {
  const labelled = data.sequences!.filter((s) => s !== undefined).length;
  const mix = params.kd > 0 ? ` + ${params.kd} × the teacher per frame` : '';
  ctx.log?.(`${name}: ${params.steps} steps of CTC on the texts${mix} at lr ${params.lr}, ${labelled} of ${sampleCount(data)} samples labelled`);
  const r = await trainCtc({
    model,
    data: { x: data.x, sampleShape: data.sampleShape, labels: data.sequences! },
    blank: data.blank!,
    steps: params.steps,
    lr: params.lr,
    batchSize: params.batch,
    ...(params.kd > 0 ? { teacher: opts.teacher, kdAlpha: params.kd } : {}),
    ...(opts.trainable ? { trainable: opts.trainable } : {}),
    ...loopContext(ctx),
  });
  const record = trainRecord(name, params, params.steps, r, sampleCount(data));
  record.stats.objective = params.kd > 0 ? 'ctc+kd' : 'ctc';
  if (r.skipped > 0) record.notes.push(`${r.skipped} step(s) had no sample whose text fits the frames, and made no update`);
  return { model: r.model, record };
}
