// Training speed of CTC on PaddleOCR rec with the fp32 model as teacher (issue 12): seconds per step
// with no teacher, with the teacher's per-frame probabilities cached per sample, and recomputed every
// step. Each variant trains the same source model on the same `serials` samples and batches (seed 0),
// over 4 epochs of them as the search's recovery does (60 steps of 16 on 256 samples: 3.75 epochs).

import { readModel } from '../../src/onnx/read-model.js';
import { preparedForPruning } from '../../src/cli/prune-pipeline.js';
import { stageDataFromTask } from '../../src/train/stage-data.js';
import { trainCtc } from '../../src/train/ctc-train.js';

export interface KdSpeedRow {
  variant: 'ctc alone' | 'ctc + teacher, cached' | 'ctc + teacher, not cached';
  steps: number;
  secondsPerStep: number;
  teacherRuns: number;
}

export async function ctcKdSpeed(recPath: string, steps: number, batch: number): Promise<KdSpeedRow[]> {
  const model = await preparedForPruning(readModel(recPath)); // opset 17 with constant initializers, as the search trains it
  const { trainData: d } = await stageDataFromTask({ ref: 'serials', seed: 0 }, model, Math.ceil((steps * batch) / 4));
  if (!d.sequences || d.blank === undefined) throw new Error('serials samples came without texts: CTC needs them');
  const data = { x: d.x, sampleShape: d.sampleShape, labels: d.sequences };
  const blank = d.blank;
  const rows: KdSpeedRow[] = [];
  const variants = [
    ['ctc alone', {}],
    ['ctc + teacher, cached', { teacher: model, cacheTeacher: true }],
    ['ctc + teacher, not cached', { teacher: model, cacheTeacher: false }],
  ] as const;
  for (const [variant, extra] of variants) {
    const t0 = performance.now();
    const r = await trainCtc({ model, data, blank, steps, lr: 3e-4, batchSize: batch, seed: 0, ...extra });
    const secondsPerStep = (performance.now() - t0) / 1000 / steps;
    rows.push({ variant, steps, secondsPerStep, teacherRuns: r.teacherRuns });
    console.log(`${variant}: ${secondsPerStep.toFixed(2)} s/step (${(1 / secondsPerStep).toFixed(3)} steps/s), teacher runs ${r.teacherRuns}`);
  }
  return rows;
}
