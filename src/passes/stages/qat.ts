// Training stage `qat`: quantization-aware training of a static-int8 QDQ model (quantize-static's
// output), distilled from the source model; the result is the same QDQ graph with retrained int8 codes.
// On an OCR task it trains with CTC on the texts mixed with the teacher per frame (ctc-stage.ts).

import { DataType } from '../../onnx/dtype.js';
import { EdgefitError } from '../../onnx/errors.js';
import type { Model } from '../../onnx/model.js';
import { exportQat, makeQatModel } from '../../train/qat.js';
import { trainStage } from '../../train/stage-train.js';
import type { Pass } from '../pass.js';
import { hasTexts, trainOnTexts, type TextStageParams } from './ctc-stage.js';
import { loopContext, sampleCount, oneFloatInput, stageInputs, trainRecord } from './stage-run.js';

type QatParams = TextStageParams & { lsq: boolean };

/** Whether some DequantizeLinear reads an int8 weight initializer (static int8 in QDQ form). */
export function isStaticInt8Qdq(model: Model): boolean {
  const g = model.graph;
  return g.nodes.some((n) => n.opType === 'DequantizeLinear' && g.initializers.get(n.inputs[0] ?? '')?.dataType === DataType.INT8);
}

export const qatStage: Pass<QatParams> = {
  name: 'qat',
  description: 'Training stage: quantization-aware training of a static-int8 QDQ model, distilled from the source model.',
  role: 'train',
  params: {
    steps: { type: 'integer', description: 'Training steps (batches).', default: 60, min: 0, search: { values: [60, 200] } },
    lr: { type: 'number', description: 'AdamW learning rate, in int8 codes per step.', default: 0.05, min: 1e-6, max: 10 },
    batch: { type: 'integer', description: 'Samples per step.', default: 16, min: 1 },
    lsq: {
      type: 'boolean',
      description: 'Also learn every quantization scale (LSQ); biases follow their conv.',
      default: false,
      // not searched yet: it has no measured gain on rec (README)
      search: { values: [false] },
    },
    kd: {
      type: 'number',
      description: 'OCR tasks: weight of the teacher’s per-frame probabilities mixed into the CTC targets (0: CTC on the texts alone)',
      default: 0.5,
      min: 0,
      max: 1,
    },
  },
  tolerance: { metric: 'cosine', value: 0 },
  async run(model, params, ctx) {
    oneFloatInput('qat', model);
    if (!isStaticInt8Qdq(model))
      throw new EdgefitError(
        'training stage qat needs a static-int8 QDQ model (int8 weights behind DequantizeLinear) and this model has none',
        'E_QAT_NEEDS_QDQ',
        'put quantize-static before qat in the chain',
      );
    const { teacher, data } = stageInputs('qat', ctx);
    const qat = makeQatModel(model, params.lsq ? { learnScales: { lr: params.lr } } : {});
    const trainable = qat.trainable;
    if (hasTexts(data)) {
      const r = await trainOnTexts('qat', qat.model, params, ctx, data, { teacher, trainable });
      return { model: exportQat(model, qat, r.model), record: r.record };
    }
    ctx.log?.(`qat: ${params.steps} steps at lr ${params.lr} on ${sampleCount(data)} samples, ${qat.weights.length} weights`);
    const r = await trainStage({
      student: qat.model,
      teacher,
      data,
      steps: params.steps,
      lr: params.lr,
      batchSize: params.batch,
      temperature: 1,
      trainable,
      ...loopContext(ctx),
    });
    return { model: exportQat(model, qat, r.model), record: trainRecord('qat', params, params.steps, r, sampleCount(data)) };
  },
};
