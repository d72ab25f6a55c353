// Training stage `finetune`: plain task fine-tuning on the task's class labels (cross-entropy only, no
// teacher term). Sequence outputs and unlabelled data have no such loss here: use `recover` for them.

import { EdgefitError } from '../../onnx/errors.js';
import { trainStage } from '../../train/stage-train.js';
import type { Pass } from '../pass.js';
import { loopContext, oneFloatInput, sampleCount, trainRecord } from './stage-run.js';

interface FinetuneParams {
  steps: number;
  lr: number;
  batch: number;
  [k: string]: number;
}

export const finetuneStage: Pass<FinetuneParams> = {
  name: 'finetune',
  description: 'Training stage: fine-tune the model on the task’s class labels (cross-entropy) for a number of steps.',
  role: 'train',
  params: {
    steps: { type: 'integer', description: 'Training steps (batches).', default: 60, min: 0, search: { values: [60, 200] } },
    lr: { type: 'number', description: 'AdamW learning rate.', default: 1e-3, min: 1e-7, max: 1 },
    batch: { type: 'integer', description: 'Samples per step.', default: 16, min: 1 },
  },
  tolerance: { metric: 'cosine', value: 0 },
  async run(model, params, ctx) {
    oneFloatInput('finetune', model);
    const data = ctx.trainData;
    if (!data?.labels)
      throw new EdgefitError(
        'training stage finetune needs class labels and the training samples have none',
        'E_STAGE_NO_LABELS',
        'give a classification task (--task), or use recover (distillation needs no labels)',
      );
    // alpha 0: the distillation term is off, so the teacher is only the loss graph's shape reference
    const r = await trainStage({
      student: model,
      teacher: ctx.teacher ?? model,
      data,
      steps: params.steps,
      lr: params.lr,
      batchSize: params.batch,
      alpha: 0,
      ...loopContext(ctx),
    });
    return { model: r.model, record: trainRecord('finetune', params, params.steps, r, sampleCount(data)) };
  },
};
