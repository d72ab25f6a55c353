// `edgefit qat` on an OCR task: the QDQ model trains with CTC on the task's texts mixed with the fp32
// model's per-frame probabilities (--kd), as the search's qat stage does (src/passes/stages/ctc-stage.ts).

import type { Model } from '../onnx/model.js';
import { trainCtc } from '../train/ctc-train.js';
import { exportQat, makeQatModel } from '../train/qat.js';
import { modelNormalisation } from '../train/task-data.js';
import { ocrTrainSamples } from './ocr-task.js';

export interface QatOnTextsOptions {
  fp32: Model;
  qdq: Model;
  task: string;
  limit: number;
  epochs: number;
  batch: number;
  lr: number;
  kd: number;
  /** Learn the quantization scales too (LSQ). */
  lsq?: boolean;
  seed: number;
  threads: number;
  log: (line: string) => void;
}

export async function qatOnTexts(o: QatOnTextsOptions) {
  const data = await ocrTrainSamples(o.task, o.fp32, { seed: o.seed, limit: o.limit, preprocess: modelNormalisation(o.fp32)?.preprocess });
  const n = data.labels.length;
  const steps = o.epochs * Math.ceil(n / o.batch);
  const qat = makeQatModel(o.qdq, o.lsq ? { learnScales: { lr: o.lr } } : {});
  o.log(`QAT: ${steps} steps of CTC on the texts${o.kd > 0 ? ` + ${o.kd} × the fp32 model per frame` : ''}, ${n} items`);
  const r = await trainCtc({
    model: qat.model,
    data,
    blank: data.blank,
    steps,
    lr: o.lr,
    batchSize: o.batch,
    trainable: qat.trainable,
    ...(o.kd > 0 ? { teacher: o.fp32, kdAlpha: o.kd } : {}),
    seed: o.seed,
    threads: o.threads,
    onStep: (s) => s.step % 50 === 0 && o.log(`step ${s.step}/${steps}  CTC ${s.loss.toFixed(3)}`),
  });
  return {
    model: exportQat(o.qdq, qat, r.model),
    steps: r.steps,
    stepsPerSecond: r.steps / (r.wallMs / 1000),
    trainableParams: qat.trainable.reduce((a, name) => a + (qat.model.graph.initializers.get(name)?.size ?? 0), 0),
    objective: o.kd > 0 ? 'ctc+kd' : 'ctc',
    history: r.history,
  };
}
