// Training stage `recover`: distil the current model (a pruned one, say) from the source model, per
// frame for sequence outputs, plus the task loss where class labels exist (src/train/stage-train.ts).
// On an OCR task (the samples carry texts) it trains with the CTC loss on the texts, mixed with the
// teacher per frame at weight `kd` (ctc-stage.ts): a pruned PaddleOCR rec that distillation alone left
// at CER 0.85 after 60 steps needs the labels.

import type { Pass } from '../pass.js';
import { trainStage } from '../../train/stage-train.js';
import { hasTexts, trainOnTexts, type TextStageParams } from './ctc-stage.js';
import { loopContext, sampleCount, oneFloatInput, stageInputs, trainRecord } from './stage-run.js';

type RecoverParams = TextStageParams;

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
    kd: {
      type: 'number',
      description: 'OCR tasks: weight of the teacher’s per-frame probabilities mixed into the CTC targets (0: CTC on the texts alone)',
      default: 0.5,
      min: 0,
      max: 1,
    },
  },
  // training moves outputs towards the teacher's by design: no output tolerance of its own; the conformance
  // suite holds a few steps of it to cosine 0.95 (test/conformance-stages.ts)
  tolerance: { metric: 'cosine', value: 0 },
  async run(model, params, ctx) {
    oneFloatInput('recover', model);
    const { teacher, data } = stageInputs('recover', ctx);
    if (hasTexts(data)) return trainOnTexts('recover', model, params, ctx, data, { teacher });
    ctx.log?.(`recover: ${params.steps} steps of distillation at lr ${params.lr} on ${sampleCount(data)} samples`);
    const r = await trainStage({ student: model, teacher, data, steps: params.steps, lr: params.lr, batchSize: params.batch, ...loopContext(ctx) });
    const record = trainRecord('recover', params, params.steps, r, sampleCount(data));
    record.stats.objective = 'distillation';
    return { model: r.model, record };
  },
};
