// A distilled student of PaddleOCR rec on `serials` (issue 12), against the same student trained alone.
// The student: the teacher with rec's six wide backbone groups cut by Taylor importance to 64 / 128
// channels in one cut (the widths of prune-rec.ts's second round), initialised from the teacher's kept
// weights. Distilled: (1 − α)·CTC on the texts + α·KL per frame on the teacher's probabilities (α 0.5,
// teacher cached); alone: CTC on the texts only. Same init, data, seed, steps and learning rate; CER on
// 200 held-out items with intervals; fp32 p50/p99 of student against teacher, interleaved in one process.

import { join } from 'node:path';
import { loadTask } from '../../src/data/task.js';
import type { Model } from '../../src/onnx/model.js';
import { readModel } from '../../src/onnx/read-model.js';
import { writeModel } from '../../src/onnx/write-model.js';
import { ocrHeldOut, ocrTrainSamples, scoreHeldOut } from '../../src/cli/ocr-task.js';
import { preparedForPruning, timeInterleaved, timingFeeds } from '../../src/cli/prune-pipeline.js';
import { trainCtc } from '../../src/train/ctc-train.js';
import { modelNormalisation } from '../../src/train/task-data.js';
import { speedupInterval } from './ratio-interval.js';
import { taylorPruneRec } from './rec-taylor.js';

/** One cut to the widths of prune-rec's second round: 240 → 64 and 480 → 128. */
const CUT = 0.735;
const KD_ALPHA = 0.5;

export async function recStudent(sourcePath: string, work: string, steps: number): Promise<unknown> {
  const teacher = await preparedForPruning(readModel(sourcePath));
  const norm = modelNormalisation(teacher);
  const initPath = join(work, 'student-init.onnx');
  writeModel(await taylorPruneRec(teacher, CUT, 16), initPath);
  const data = await ocrTrainSamples('serials', teacher, { seed: 3, limit: 2000, preprocess: norm?.preprocess });
  const train = async (name: string, withTeacher: boolean) => {
    const r = await trainCtc({
      model: readModel(initPath),
      data,
      blank: data.blank,
      steps,
      lr: 3e-4,
      batchSize: 16,
      seed: 5,
      ...(withTeacher ? { teacher, kdAlpha: KD_ALPHA } : {}),
      onStep: (s) => s.step % 100 === 0 && console.log(`  ${name} step ${s.step} loss ${s.loss.toFixed(3)}`),
    });
    writeModel(r.model, join(work, `student-${name}.onnx`)); // for checks outside edgefit (scripts/check-cer.mjs)
    return { model: r.model, seconds: r.wallMs / 1000, teacherRuns: r.teacherRuns, lossBefore: r.lossBefore, lossAfter: r.lossAfter };
  };
  const distilled = await train('distilled', true);
  const alone = await train('alone', false);
  const held = await ocrHeldOut('serials', { seed: 1, limit: 200, preprocess: norm?.preprocess });
  const cer = (m: Model) => scoreHeldOut(m, held, 1);
  const feeds = await timingFeeds(await loadTask('serials', { seed: 1, split: 'test', limit: 5 }), teacher);
  const t = await timeInterleaved(teacher, distilled.model, feeds, { rounds: 40, iterations: 25 });
  const [p50, p99] = (['p50', 'p99'] as const).map((st) => speedupInterval(t.samplesMs.a, t.samplesMs.b, st));
  const out = {
    student: `Taylor cut of ${CUT} (multiple 16) of the six wide backbone groups, initialised from the teacher`,
    steps,
    batch: 16,
    lr: 3e-4,
    kdAlpha: KD_ALPHA,
    trainItems: data.labels.length,
    heldOutItems: held.size,
    cer: { teacher: await cer(teacher), distilled: await cer(distilled.model), alone: await cer(alone.model) },
    training: { distilled: { ...distilled, model: undefined }, alone: { ...alone, model: undefined } },
    fp32: { teacher: t.a, student: t.b, speedup: { p50, p99 } },
  };
  console.log(JSON.stringify(out, null, 2));
  return out;
}
