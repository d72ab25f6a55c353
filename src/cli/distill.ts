// `edgefit distill <teacher.onnx> --student <spec> --task … -o student.onnx`: trains the student on the
// teacher's soft outputs (cached), and trains the same student alone (same steps, labels only) beside
// it, so the report always says what distillation added. On an OCR task the student trained alone learns
// the texts with the CTC loss (distill-ocr.ts).

import { UsageError } from '../onnx/errors.js';
import { requirePositive } from './positive.js';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import { pruneStructured } from '../passes/prune-structured.js';
import type { Model } from '../onnx/model.js';
import { accuracyOf, distill, type HiddenMatch } from '../train/distill.js';
import { exposeLogits } from '../train/logits.js';
import { addLora, loraCounts, mergeLora, parseLora } from '../train/lora.js';
import { trainModel } from '../train/loop.js';
import { buildStudent } from '../train/student.js';
import { mnistSampleShape, modelNormalisation, taskSplits } from '../train/task-data.js';
import type { Command } from './command.js';
import { distillOcr } from './distill-ocr.js';
import { isOcrTask } from './ocr-task.js';
import { pct } from './train.js';

function parseHidden(list: string[]): HiddenMatch[] {
  return list.map((s) => {
    const m = /^([^=]+)=([^=]+)$/.exec(s);
    if (!m) throw new UsageError(`--hidden '${s}' is not student_tensor=teacher_tensor`, 'e.g. --hidden fc1/Relu_out0=fc2/Relu_out0');
    return { student: m[1]!, teacher: m[2]! };
  });
}

export const distillCommand: Command = {
  name: 'distill',
  summary: 'distil a teacher model into a smaller student (KL on soft outputs), reported beside the student trained alone',
  args: [{ name: 'teacher', description: 'the teacher .onnx model' }],
  flags: [
    {
      name: 'student',
      type: 'string',
      placeholder: 'spec',
      description: 'mlp:784-64-10 | cnn:… | student.onnx | drop:every-other | drop:1,3 (residual blocks of the teacher) | width:0.5 (structured pruning)',
    },
    { name: 'task', type: 'string', placeholder: 'name|spec.json', default: 'mnist', description: 'the task (built-in name or task spec)' },
    { name: 'output', short: 'o', type: 'string', placeholder: 'student.onnx', description: 'where to write the distilled student (required)' },
    { name: 'temperature', short: 'T', type: 'number', placeholder: 'T', default: 4, description: 'softmax temperature of the KL term (scaled by T²)' },
    { name: 'alpha', type: 'number', placeholder: 'a', default: 0.5, description: 'weight of the KL term; the task loss on labels gets 1 − alpha' },
    {
      name: 'hidden',
      type: 'string[]',
      placeholder: 's=t',
      description: 'also match student tensor s to teacher tensor t (MSE; a learned projection if widths differ)',
    },
    { name: 'epochs', short: 'e', type: 'integer', placeholder: 'n', default: 10, description: 'passes over the training split' },
    { name: 'batch', short: 'b', type: 'integer', placeholder: 'n', description: 'batch size (default 64; 8 on OCR tasks, where one item is a 48×320 line)' },
    { name: 'lr', type: 'number', placeholder: 'x', description: 'AdamW learning rate (default 0.001; OCR tasks 0.0003)' },
    { name: 'limit', type: 'integer', placeholder: 'n', description: 'use at most this many items of the task' },
    {
      name: 'lora',
      type: 'string',
      placeholder: 'rank[:alpha]',
      description: 'train only low-rank adapters on the student (e.g. a dropped-block teacher copy); merged on export',
    },
    {
      name: 'lora-pattern',
      type: 'string',
      placeholder: 'regex',
      description: 'with --lora: the weights that get adapters (default: every MatMul, Gemm and 1×1 Conv weight)',
    },
    { name: 'eval-limit', type: 'integer', placeholder: 'n', description: 'OCR tasks: held-out items scored (default 100)' },
    { name: 'no-cache', type: 'boolean', description: 'run the teacher on every step instead of once (to measure what the cache saves)' },
    {
      name: 'teacher-top-k',
      type: 'integer',
      placeholder: 'k',
      description:
        'OCR tasks: classes of each teacher frame kept (the rest of its mass spread evenly), so the cache holds every item (default 32; 0: every class)',
    },
    { name: 'no-baseline', type: 'boolean', description: 'skip training the student alone' },
    { name: 'seed', type: 'integer', placeholder: 'n', default: 0, description: 'seed of initialisation and shuffling' },
    { name: 'threads', short: 't', type: 'integer', placeholder: 'n', default: 1, description: 'ORT intra-op threads' },
    { name: 'json', type: 'boolean', description: 'print the result as JSON on stdout' },
  ],
  details: `Examples:
  edgefit train --arch mlp:784-512-512-10 --task mnist -o teacher.onnx --epochs 10
  edgefit distill teacher.onnx --student mlp:784-64-10 --task mnist -o student.onnx
On an OCR task (serials) the student trains on (1 − alpha)·CTC on the texts + alpha·KL per frame on the
teacher's probabilities (T = 1); --alpha 1 distils per frame alone, at temperature T. The same student
alone trains on the texts with CTC for the same steps; all are scored on held-out CER:
  edgefit prune ch_PP-OCRv4_rec_infer.onnx --task serials --method taylor --scope wide --ratio 0.5 --recover-epochs 0 -o init.onnx
  edgefit distill ch_PP-OCRv4_rec_infer.onnx --student init.onnx --task serials -b 8 --epochs 2 -o rec-student.onnx`,
  run: async (ctx) => {
    const f = ctx.flags;
    const [path] = ctx.args;
    const spec = f.student as string | undefined;
    const out = f.output as string | undefined;
    if (!path) throw new UsageError('give the teacher model', 'edgefit distill teacher.onnx --student mlp:784-64-10 -o student.onnx');
    if (!spec) throw new UsageError('--student is required', 'e.g. --student mlp:784-64-10 or --student drop:every-other');
    if (!out) throw new UsageError('-o/--output is required', 'e.g. -o student.onnx');
    requirePositive(f, ['epochs', 'batch', 'limit', 'eval-limit', 'threads', 'lr', 'temperature']);
    const seed = f.seed as number;
    const task = f.task as string;
    if (await isOcrTask(task))
      return distillOcr(ctx, path, task, out, async (t) => (spec.startsWith('width:') ? narrowStudent(spec, t) : buildStudent(spec, t, seed)));
    if (f['eval-limit'] !== undefined) throw new UsageError('--eval-limit applies to OCR tasks only', 'classifiers are scored on the whole test split');
    if (f['teacher-top-k'] !== undefined) throw new UsageError('--teacher-top-k applies to OCR tasks only', 'a classifier’s teacher outputs are cached whole');
    const teacher = readModel(path);
    const base = spec.startsWith('width:') ? await narrowStudent(spec, teacher) : buildStudent(spec, teacher, seed);
    const lora = f.lora !== undefined ? addLora(base, { ...parseLora(f.lora as string, f['lora-pattern'] as string | undefined), seed }) : undefined;
    const student = lora?.model ?? base;
    const norm = modelNormalisation(teacher);
    const data = await taskSplits(task, {
      seed,
      limit: f.limit as number | undefined,
      ...(task === 'mnist' ? { sampleShape: mnistSampleShape(student) } : norm ? { preprocess: norm.preprocess } : {}),
    });
    const common = { epochs: f.epochs as number, batchSize: (f.batch as number | undefined) ?? 64, seed, threads: f.threads as number };
    const r = await distill({
      ...common,
      teacher,
      student,
      train: data.train,
      val: data.val,
      temperature: f.temperature as number,
      alpha: f.alpha as number,
      hidden: parseHidden((f.hidden as string[] | undefined) ?? []),
      optimizer: { kind: 'adamw', lr: (f.lr as number | undefined) ?? 1e-3 },
      cacheTeacher: !f['no-cache'],
      trainable: lora ? lora.trainable : undefined,
      onEpoch: (e) => {
        if (!f.json)
          ctx.log(`epoch ${String(e.epoch).padStart(3)}  loss ${e.loss.toFixed(4)}  val acc ${pct(e.valAccuracy ?? NaN)}  ${e.seconds.toFixed(1)} s`);
      },
    });
    if (lora) r.model = mergeLora(base, r.model, lora.adapters);
    const s = exposeLogits(r.model);
    const t = exposeLogits(teacher);
    const result: Record<string, unknown> = {
      teacher: path,
      student: spec,
      task,
      output: out,
      steps: r.steps,
      stepsPerSecond: r.stepsPerSecond,
      teacherSeconds: r.teacherSeconds,
      trainableParameters: r.trainableParams,
      ...(lora ? { lora: loraCounts(lora.adapters) } : {}),
      test: {
        n: data.test.labels.length,
        teacher: await accuracyOf(t.model, t.input, t.logits, data.test),
        distilled: await accuracyOf(s.model, s.input, s.logits, data.test),
      },
    };
    if (!f['no-baseline']) {
      ctx.log('training the same student alone (labels only, same steps) for comparison …');
      const alone = await trainModel({
        ...common,
        model: spec.startsWith('width:') ? await narrowStudent(spec, teacher) : buildStudent(spec, teacher, seed),
        train: data.train,
        val: data.val,
        maxSteps: r.steps,
        optimizer: { kind: 'adamw', lr: (f.lr as number | undefined) ?? 1e-3 },
      });
      const a = exposeLogits(alone.model);
      (result.test as Record<string, number>).alone = await accuracyOf(a.model, a.input, a.logits, data.test);
    }
    writeModel(r.model, out);
    if (f.json) {
      ctx.stdout.write(JSON.stringify({ ...result, history: r.history }, null, 2) + '\n');
      return 0;
    }
    const tr = result.test as Record<string, number>;
    ctx.log(
      `test accuracy (${data.test.labels.length} items): teacher ${pct(tr.teacher!)}, distilled student ${pct(tr.distilled!)}${tr.alone !== undefined ? `, same student alone ${pct(tr.alone)}` : ''}`,
    );
    ctx.log(
      `${r.steps} steps at ${r.stepsPerSecond.toFixed(1)} steps/s (teacher cached in ${r.teacherSeconds.toFixed(1)} s); ${r.trainableParams} trainable parameters`,
    );
    ctx.log(`wrote ${out}`);
    return 0;
  },
};

/**
 * `width:r`: the teacher with a fraction r of the channels / neurons of every prunable group removed
 * (L1 magnitude), the kept ones initialised from the teacher.
 */
async function narrowStudent(spec: string, teacher: Model): Promise<Model> {
  const ratio = Number(spec.slice('width:'.length));
  if (!(ratio > 0 && ratio < 1))
    throw new UsageError(`--student ${spec}: the fraction of width to remove must be above 0 and below 1`, 'e.g. width:0.5 removes half of each layer');
  const { model, record } = await pruneStructured(teacher, { ratio });
  if (!Number(record.stats.removed))
    throw new UsageError(
      `--student ${spec} removes nothing from this teacher: ${record.skipped.map((s) => `${s.node}: ${s.reason}`).join('; ') || 'no prunable layer'}`,
      'use drop:every-other, an architecture (mlp:…, cnn:…) or a student .onnx model',
    );
  return model;
}
