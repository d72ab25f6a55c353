// `edgefit distill` on an OCR task (serials → PaddleOCR rec). With --alpha below 1 (the default 0.5) the
// student trains on the texts with the CTC loss and on the teacher's frame probabilities at once,
// (1 − α)·CTC + α·KL per frame (ctc-teacher.ts); with --alpha 1 it is distilled per frame alone (KL at
// temperature T; no texts needed). The same student is trained alone for the same number of steps on the
// texts with the CTC loss; teacher, distilled and alone are scored on held-out CER with intervals, so the
// report says what the teacher added over labels alone.

import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import { trainCtc } from '../train/ctc-train.js';
import type { CtcSamples } from '../train/ctc-data.js';
import { distill } from '../train/distill.js';
import { modelNormalisation } from '../train/task-data.js';
import { selectTrainable } from '../train/training-graph.js';
import type { CommandContext } from './command.js';
import { fmtHeldOut, ocrHeldOut, ocrTrainSamples, scoreHeldOut } from './ocr-task.js';
import { preparedForPruning } from './prune-pipeline.js';

interface Common {
  batchSize: number;
  seed: number;
  threads: number;
}

interface Distilled {
  model: Model;
  steps: number;
  trainableParams: number;
  teacherSeconds?: number;
  teacherRuns?: number;
  teacherKeptMass?: number;
  history: unknown[];
}

/** Weights that CTC training updates (every float weight: trainCtc trains them all). */
const paramCount = (m: Model): number => selectTrainable(m).reduce((a, name) => a + m.graph.initializers.get(name)!.size, 0);

/** --alpha 1: per-frame KL at temperature T on the teacher's outputs alone, epoch by epoch. */
async function distillFrames(ctx: CommandContext, common: Common, teacher: Model, student: Model, data: CtcSamples, lr: number): Promise<Distilled> {
  const f = ctx.flags;
  const n = data.labels.length;
  const r = await distill({
    ...common,
    teacher,
    student,
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
  return r;
}

/** --alpha below 1: (1 − α)·CTC on the texts + α·KL per frame (T = 1), for epochs × batches steps. */
async function distillMixed(
  ctx: CommandContext,
  common: Common,
  teacher: Model,
  student: Model,
  data: CtcSamples,
  lr: number,
  alpha: number,
): Promise<Distilled> {
  const f = ctx.flags;
  const steps = (f.epochs as number) * Math.ceil(data.labels.length / common.batchSize);
  const every = Math.max(1, Math.round(steps / 10));
  const r = await trainCtc({
    ...common,
    model: student,
    data,
    blank: data.blank,
    steps,
    lr,
    teacher,
    kdAlpha: alpha,
    cacheTeacher: !f['no-cache'],
    ...(f['teacher-top-k'] !== undefined ? { teacherTopK: f['teacher-top-k'] as number } : {}),
    onStep: (s) => {
      if (!f.json && (s.step % every === 0 || s.step === steps)) ctx.log(`step ${String(s.step).padStart(5)}  loss ${s.loss.toFixed(4)}`);
    },
  });
  return {
    model: r.model,
    steps: r.steps,
    trainableParams: paramCount(student),
    teacherRuns: r.teacherRuns,
    ...(r.teacherKeptMass !== undefined ? { teacherKeptMass: r.teacherKeptMass } : {}),
    history: r.history,
  };
}

export async function distillOcr(ctx: CommandContext, path: string, task: string, out: string, studentOf: (teacher: Model) => Promise<Model>): Promise<number> {
  const f = ctx.flags;
  // weights held in Constant nodes train only once they are initializers
  const makeStudent = async (t: Model) => preparedForPruning(await studentOf(t));
  for (const k of ['lora', 'lora-pattern', 'hidden'])
    if (f[k] !== undefined) throw new UsageError(`--${k} is not supported on an OCR task yet`, 'leave it out: the student trains whole');
  const alpha = f.alpha as number;
  if (!(alpha > 0 && alpha <= 1))
    throw new UsageError(`--alpha must be above 0 and at most 1 on an OCR task, got ${alpha}`, 'the student alone (alpha 0) is trained anyway as the baseline');
  if (alpha === 1 && f['teacher-top-k'] !== undefined)
    throw new UsageError(
      '--teacher-top-k applies to the mixed CTC + KL training (--alpha below 1)',
      'leave it out with --alpha 1, which keeps the teacher outputs whole',
    );
  const common: Common = { batchSize: (f.batch as number | undefined) ?? 8, seed: f.seed as number, threads: f.threads as number };
  const lr = (f.lr as number | undefined) ?? 3e-4;
  const evalLimit = (f['eval-limit'] as number | undefined) ?? 100;
  const teacher = await preparedForPruning(readModel(path));
  const norm = modelNormalisation(teacher);
  const data = await ocrTrainSamples(task, teacher, { seed: common.seed, limit: (f.limit as number | undefined) ?? 200, preprocess: norm?.preprocess });
  const held = await ocrHeldOut(task, { seed: common.seed, limit: evalLimit, preprocess: norm?.preprocess });
  const n = data.labels.length;
  if (!f.json)
    ctx.log(
      `${path} on ${task} (OCR): ${alpha === 1 ? 'per-frame distillation' : `(1 − ${alpha})·CTC + ${alpha}·per-frame KL`} on ${n} train items${f['no-baseline'] ? '' : ', then the same student alone with CTC on their texts'}`,
    );
  const student = await makeStudent(teacher);
  const r = alpha === 1 ? await distillFrames(ctx, common, teacher, student, data, lr) : await distillMixed(ctx, common, teacher, student, data, lr, alpha);
  const scores: Record<string, unknown> = {
    teacher: await scoreHeldOut(teacher, held, common.threads),
    distilled: await scoreHeldOut(r.model, held, common.threads),
  };
  let alone: Awaited<ReturnType<typeof trainCtc>> | undefined;
  if (!f['no-baseline']) {
    if (!f.json) ctx.log(`training the same student alone (texts only, CTC, ${r.steps} steps) for comparison …`);
    alone = await trainCtc({ ...common, model: await makeStudent(teacher), data, blank: data.blank, steps: r.steps, lr });
    scores.alone = await scoreHeldOut(alone.model, held, common.threads);
  }
  writeModel(r.model, out);
  const result = {
    teacher: path,
    student: f.student,
    task,
    output: out,
    loss: alpha === 1 ? 'kl' : 'ctc+kl',
    alpha,
    steps: r.steps,
    lr,
    trainItems: n,
    ...(r.teacherSeconds !== undefined ? { teacherSeconds: r.teacherSeconds } : {}),
    ...(r.teacherRuns !== undefined ? { teacherRuns: r.teacherRuns } : {}),
    ...(r.teacherKeptMass !== undefined ? { teacherKeptMass: r.teacherKeptMass } : {}),
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
  const kept = r.teacherKeptMass !== undefined ? `, each frame's kept classes held ≥ ${(100 * r.teacherKeptMass).toFixed(2)}% of its mass` : '';
  const runs = r.teacherRuns !== undefined ? `; ${r.teacherRuns} teacher runs${kept}` : '';
  ctx.log(`${r.steps} steps; ${r.trainableParams} trainable parameters${runs}; wrote ${out}`);
  return 0;
}
