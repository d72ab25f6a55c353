// Training stage `recover`: distil the current model (a pruned one, say) from the source model, per
// frame for sequence outputs, plus the task loss where class labels exist (src/train/stage-train.ts).
// On an OCR task (the samples carry texts) it trains with the CTC loss on the texts instead: a pruned
// PaddleOCR rec that distillation left at CER 0.85 after 60 steps needs the labels (src/train/ctc-train.ts).

import type { Model } from '../../onnx/model.js';
import type { Pass, PassContext, PassRecord, StageData } from '../pass.js';
import { trainCtc } from '../../train/ctc-train.js';
import { trainStage } from '../../train/stage-train.js';
import { loopContext, sampleCount, stageInputs, trainRecord } from './stage-run.js';

interface RecoverParams {
  steps: number;
  lr: number;
  batch: number;
  [k: string]: number;
}

export const recoverStage: Pass<RecoverParams> = {
  name: 'recover',
  description: 'Training stage: distil the model from the source model (teacher) for a number of steps, plus the task loss where labels exist.',
  role: 'train',
  params: {
    steps: { type: 'integer', description: 'Training steps (batches).', default: 60, min: 0, search: { values: [60, 200] } },
    // 1e-3 wrecks even an unpruned PaddleOCR rec in a few steps (AdamW moves every weight by ~lr at
    // first); 3e-4 with frame balancing brought a pruned rec from CER 1.0 to 0.31 in 150 steps.
    lr: { type: 'number', description: 'AdamW learning rate.', default: 3e-4, min: 1e-7, max: 1 },
    batch: { type: 'integer', description: 'Samples per step.', default: 16, min: 1 },
  },
  // training moves outputs towards the teacher's by design; the conformance suite does not run stages
  tolerance: { metric: 'cosine', value: 0 },
  async run(model, params, ctx) {
    const { teacher, data } = stageInputs('recover', ctx);
    if (data.sequences && data.blank !== undefined) return recoverCtc(model, params, ctx, data);
    ctx.log?.(`recover: ${params.steps} steps of distillation at lr ${params.lr} on ${sampleCount(data)} samples`);
    const r = await trainStage({ student: model, teacher, data, steps: params.steps, lr: params.lr, batchSize: params.batch, ...loopContext(ctx) });
    const record = trainRecord('recover', params, params.steps, r, sampleCount(data));
    record.stats.objective = 'distillation';
    return { model: r.model, record };
  },
};

/** CTC on the task's texts: the samples whose text fits the alphabet train, the others are skipped. */
async function recoverCtc(model: Model, params: RecoverParams, ctx: PassContext, data: StageData): Promise<{ model: Model; record: PassRecord }> {
  const labelled = data.sequences!.filter((s) => s !== undefined).length;
  ctx.log?.(`recover: ${params.steps} steps of CTC on the texts at lr ${params.lr} on ${labelled} of ${sampleCount(data)} samples`);
  const r = await trainCtc({
    model,
    data: { x: data.x, sampleShape: data.sampleShape, labels: data.sequences! },
    blank: data.blank!,
    steps: params.steps,
    lr: params.lr,
    batchSize: params.batch,
    ...loopContext(ctx),
  });
  const record = trainRecord('recover', params, params.steps, { ...r, teacherRuns: 0 }, sampleCount(data));
  record.stats.objective = 'ctc';
  if (r.skipped > 0) record.notes.push(`${r.skipped} step(s) had no sample whose text fits the frames, and made no update`);
  return { model: r.model, record };
}
