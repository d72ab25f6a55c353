// `edgefit distill` on an OCR task (serials → PaddleOCR rec): the student is distilled per frame from
// the teacher (KL on the frame logits; no texts needed), and the same student is trained alone for the
// same number of steps on the texts with the CTC loss; teacher, distilled and alone are scored on
// held-out CER with intervals, so the report says what distillation added over labels alone.

import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import { trainCtc } from '../train/ctc-train.js';
import { distill } from '../train/distill.js';
import { modelNormalisation } from '../train/task-data.js';
import type { CommandContext } from './command.js';
import { fmtHeldOut, ocrHeldOut, ocrTrainSamples, scoreHeldOut } from './ocr-task.js';
import { preparedForPruning } from './prune-pipeline.js';

export async function distillOcr(ctx: CommandContext, path: string, task: string, out: string, studentOf: (teacher: Model) => Promise<Model>): Promise<number> {
  const f = ctx.flags;
  // weights held in Constant nodes train only once they are initializers
  const makeStudent = async (t: Model) => preparedForPruning(await studentOf(t));
  for (const k of ['lora', 'lora-pattern', 'hidden'])
    if (f[k] !== undefined) throw new UsageError(`--${k} is not supported on an OCR task yet`, 'leave it out: the student trains whole');
  const seed = f.seed as number;
  const threads = f.threads as number;
  const lr = (f.lr as number | undefined) ?? 3e-4;
  const evalLimit = (f['eval-limit'] as number | undefined) ?? 100;
  if (!(evalLimit >= 1)) throw new UsageError(`--eval-limit must be at least 1, got ${evalLimit}`);
  const teacher = await preparedForPruning(readModel(path));
  const norm = modelNormalisation(teacher);
  const data = await ocrTrainSamples(task, teacher, { seed, limit: (f.limit as number | undefined) ?? 200, preprocess: norm?.preprocess });
  const held = await ocrHeldOut(task, { seed, limit: evalLimit, preprocess: norm?.preprocess });
  const n = data.labels.length;
  const common = { batchSize: (f.batch as number | undefined) ?? 8, seed, threads };
  if (!f.json)
    ctx.log(
      `${path} on ${task} (OCR): per-frame distillation on ${n} train items${f['no-baseline'] ? '' : ', then the same student alone with CTC on their texts'}`,
    );
  const r = await distill({
    ...common,
    teacher,
    student: await makeStudent(teacher),
    train: { x: data.x, sampleShape: data.sampleShape, labels: new Int32Array(n).fill(-1), classes: [] },
    epochs: f.epochs as number,
    temperature: f.temperature as number,
    alpha: 1,
    optimizer: { kind: 'adamw', lr },
    cacheTeacher: !f['no-cache'],
    onEpoch: (e) => {
      if (!f.json) ctx.log(`epoch ${String(e.epoch).padStart(3)}  KL ${e.loss.toFixed(4)}  ${e.seconds.toFixed(1)} s`);
    },
  });
  const scores: Record<string, unknown> = { teacher: await scoreHeldOut(teacher, held, threads), distilled: await scoreHeldOut(r.model, held, threads) };
  let alone: Awaited<ReturnType<typeof trainCtc>> | undefined;
  if (!f['no-baseline']) {
    if (!f.json) ctx.log(`training the same student alone (texts only, CTC, ${r.steps} steps) for comparison …`);
    alone = await trainCtc({ ...common, model: await makeStudent(teacher), data, blank: data.blank, steps: r.steps, lr });
    scores.alone = await scoreHeldOut(alone.model, held, threads);
  }
  writeModel(r.model, out);
  const result = {
    teacher: path,
    student: f.student,
    task,
    output: out,
    steps: r.steps,
    lr,
    trainItems: n,
    teacherSeconds: r.teacherSeconds,
    trainableParameters: r.trainableParams,
    heldOut: scores,
    ...(alone ? { alone: { lossBefore: alone.lossBefore, lossAfter: alone.lossAfter, skippedSteps: alone.skipped, wallSeconds: alone.wallMs / 1000 } } : {}),
  };
  if (f.json) {
    ctx.stdout.write(JSON.stringify({ ...result, history: r.history }, null, 2) + '\n');
    return 0;
  }
  const s = scores as Record<string, Parameters<typeof fmtHeldOut>[0]>;
  ctx.log(
    `held-out CER (${held.size} items): teacher ${fmtHeldOut(s.teacher!)}, distilled student ${fmtHeldOut(s.distilled!)}${s.alone ? `, same student alone (CTC) ${fmtHeldOut(s.alone)}` : ''}`,
  );
  if (alone) ctx.log(`alone: CTC loss on a fixed train batch ${alone.lossBefore.toFixed(4)} → ${alone.lossAfter.toFixed(4)}`);
  ctx.log(`${r.steps} steps; ${r.trainableParams} trainable parameters; wrote ${out}`);
  return 0;
}
