// `edgefit train --arch <mlp:…|cnn:…> --task mnist -o out.onnx`: builds a small model from scratch,
// trains it, prints what was trained, the curve and the final test metrics, and writes the model.

import { UsageError } from '../onnx/errors.js';
import { writeModel } from '../onnx/write-model.js';
import type { Model } from '../onnx/model.js';
import { createSession } from '../runtime/session.js';
import type { ArrayDataset } from '../train/dataset.js';
import { evaluateArrays, trainModel, type TrainOptions, type TrainResult } from '../train/loop.js';
import { archInputShape, buildArch } from '../train/models.js';
import { balancedClassWeights } from '../train/finetune.js';
import { taskSplits } from '../train/task-data.js';
import type { Command, CommandContext, FlagSpec } from './command.js';

/** Flags shared by `train` and `finetune`. */
export const TRAIN_FLAGS: FlagSpec[] = [
  { name: 'task', type: 'string', placeholder: 'name|spec.json', default: 'mnist', description: 'the task to train on (built-in name or task spec)' },
  { name: 'output', short: 'o', type: 'string', placeholder: 'out.onnx', description: 'where to write the trained model (required)' },
  { name: 'epochs', short: 'e', type: 'integer', placeholder: 'n', default: 5, description: 'passes over the training split' },
  { name: 'lr', type: 'number', placeholder: 'x', description: 'peak learning rate (default 0.001 AdamW, 0.05 SGD)' },
  { name: 'batch', short: 'b', type: 'integer', placeholder: 'n', default: 64, description: 'batch size' },
  { name: 'optimizer', type: 'string', values: ['adamw', 'sgd'], default: 'adamw', description: 'AdamW (weight decay 0.01) or SGD with momentum 0.9' },
  { name: 'warmup', type: 'integer', placeholder: 'steps', default: 0, description: 'linear learning-rate warm-up steps' },
  { name: 'cosine', type: 'boolean', description: 'cosine learning-rate decay over the run' },
  { name: 'clip', type: 'number', placeholder: 'norm', description: 'clip the global gradient norm' },
  { name: 'balance', type: 'boolean', description: 'weight the loss by inverse class frequency (for imbalanced tasks)' },
  { name: 'label-smoothing', type: 'number', placeholder: 'ε', default: 0, description: 'cross-entropy label smoothing' },
  { name: 'patience', type: 'integer', placeholder: 'epochs', description: 'stop when validation accuracy has not improved for this many epochs' },
  { name: 'checkpoint', type: 'string', placeholder: 'ck.onnx', description: 'write a checkpoint after every epoch' },
  { name: 'resume', type: 'string', placeholder: 'ck.onnx', description: 'continue from a checkpoint' },
  { name: 'seed', type: 'integer', placeholder: 'n', default: 0, description: 'seed of initialisation and shuffling' },
  { name: 'threads', short: 't', type: 'integer', placeholder: 'n', default: 1, description: 'ORT intra-op threads' },
  {
    name: 'update',
    type: 'string',
    values: ['ts', 'graph'],
    default: 'ts',
    description: 'run the optimizer step in TypeScript (faster here) or inside the ORT graph',
  },
  {
    name: 'limit',
    type: 'integer',
    placeholder: 'n',
    description: 'use at most this many items of the task (mnist: the first n digits, balanced by class), before the train/val/test split',
  },
  { name: 'json', type: 'boolean', description: 'print the result as JSON on stdout' },
];

export function trainOptionsFromFlags(ctx: CommandContext): Omit<TrainOptions, 'model' | 'train'> {
  const f = ctx.flags;
  const kind = (f.optimizer as 'adamw' | 'sgd' | undefined) ?? 'adamw';
  const ls = (f['label-smoothing'] as number | undefined) ?? 0;
  if (ls < 0 || ls >= 1) throw new UsageError(`--label-smoothing must be in [0, 1), got ${ls}`);
  return {
    epochs: f.epochs as number,
    batchSize: f.batch as number,
    seed: f.seed as number,
    threads: f.threads as number,
    patience: f.patience as number | undefined,
    checkpoint: f.checkpoint as string | undefined,
    resume: f.resume as string | undefined,
    update: (f.update as 'graph' | 'ts' | undefined) ?? 'ts',
    loss: { kind: 'cross-entropy', labelSmoothing: ls },
    optimizer: {
      kind,
      lr: (f.lr as number | undefined) ?? (kind === 'sgd' ? 0.05 : 1e-3),
      warmupSteps: f.warmup as number,
      cosine: !!f.cosine,
      clipNorm: f.clip as number | undefined,
    },
    progress: ctx.flags.json ? undefined : ctx.stderr,
    onEpoch: (r) => {
      if (ctx.flags.json) return;
      ctx.log(
        `epoch ${String(r.epoch).padStart(3)}  loss ${r.trainLoss.toFixed(4)}  train acc ${pct(r.trainAccuracy)}` +
          (r.valAccuracy !== undefined ? `  val loss ${r.valLoss!.toFixed(4)}  val acc ${pct(r.valAccuracy)}  val macro-F1 ${pct(r.valMacroF1 ?? NaN)}` : '') +
          `  ${r.samplesPerSecond.toFixed(0)} samples/s`,
      );
    },
  };
}

/** --balance: class weights inversely proportional to class frequency in the training split. */
export function withBalance<T extends { loss?: TrainOptions['loss'] }>(ctx: CommandContext, opts: T, train: ArrayDataset): T {
  if (!ctx.flags.balance || opts.loss?.kind !== 'cross-entropy') return opts;
  return { ...opts, loss: { ...opts.loss, classWeights: balancedClassWeights(train) } };
}

export function pct(v: number): string {
  return Number.isNaN(v) ? 'n/a' : `${(v * 100).toFixed(2)}%`;
}

/** Test metrics of the trained model, the printed summary, the JSON, and the written file. */
export async function finishTraining(
  ctx: CommandContext,
  r: TrainResult,
  test: ArrayDataset,
  out: string,
  extra: Record<string, unknown>,
  threads: number,
): Promise<number> {
  const input = r.model.graph.realInputs()[0]!.name;
  const output = r.model.graph.outputs[0]!.name;
  const session = await createSession(r.model, { threads });
  const ev = await evaluateArrays(session, input, output, test);
  await session.release();
  writeModel(r.model, out);
  const trainedCount = r.trained.reduce((a, t) => a + t.size, 0);
  if (ctx.flags.json) {
    ctx.stdout.write(
      JSON.stringify(
        {
          ...extra,
          output: out,
          trained: r.trained,
          trainedParameters: trainedCount,
          frozenTensors: r.frozen,
          history: r.history,
          bestEpoch: r.bestEpoch,
          stoppedEarly: r.stoppedEarly,
          steps: r.steps,
          samplesPerSecond: r.samplesPerSecond,
          test: {
            n: test.labels.length,
            accuracy: ev.accuracy,
            macroF1: ev.macroF1,
            loss: ev.loss,
            recall: Object.fromEntries(test.classes.map((c, k) => [c, ev.recall[k]])),
          },
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  ctx.log(`best epoch ${r.bestEpoch}${r.stoppedEarly ? ' (stopped early)' : ''}; ${r.steps} steps at ${r.samplesPerSecond.toFixed(0)} samples/s`);
  ctx.log(`test (${test.labels.length} items): accuracy ${pct(ev.accuracy)}, macro-F1 ${pct(ev.macroF1)}, loss ${ev.loss.toFixed(4)}`);
  ctx.log(`recall per class: ${test.classes.map((c, k) => `${c} ${pct(ev.recall[k] ?? NaN)}`).join(', ')}`);
  ctx.log(`wrote ${out}`);
  return 0;
}

export function describeTrained(ctx: CommandContext, model: Model, trainable: string[], frozen: number): void {
  if (ctx.flags.json) return;
  void model;
  ctx.log(`training ${trainable.length} tensors (${frozen} frozen): ${trainable.length > 8 ? trainable.slice(0, 8).join(', ') + ', …' : trainable.join(', ')}`);
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'build a small model (MLP or CNN) and train it from scratch on a task',
  args: [],
  flags: [
    {
      name: 'arch',
      type: 'string',
      placeholder: 'spec',
      description:
        'mlp:784-512-512-10 or cnn:1x28x28-c32-p-c64-p-f128-10 (c<N>: 3×3 conv+Relu, p: 2×2 max pool, g: global average pool, f<N>: dense+Relu, d<r>: dropout with ratio r, last: classes)',
    },
    ...TRAIN_FLAGS,
  ],
  details: `Examples:
  edgefit train --arch mlp:784-512-512-10 --task mnist -o mlp.onnx --epochs 5
  edgefit train --arch cnn:1x28x28-c16-p-c32-p-f64-10 --task mnist -o cnn.onnx --json`,
  run: async (ctx) => {
    const arch = ctx.flags.arch as string | undefined;
    const out = ctx.flags.output as string | undefined;
    if (!arch) throw new UsageError('--arch is required', 'e.g. --arch mlp:784-512-512-10');
    if (!out) throw new UsageError('-o/--output is required', 'e.g. -o model.onnx');
    const model = buildArch(arch, ctx.flags.seed as number);
    const shape = archInputShape(model);
    const task = ctx.flags.task as string;
    const data = await taskSplits(task, { sampleShape: shape, seed: ctx.flags.seed as number, limit: ctx.flags.limit as number | undefined });
    const classes = Number(arch.split('-').pop());
    if (classes !== data.train.classes.length)
      throw new UsageError(
        `the architecture ends in ${classes} classes but task '${task}' has ${data.train.classes.length}`,
        `end the --arch with -${data.train.classes.length}`,
      );
    const opts = withBalance(ctx, trainOptionsFromFlags(ctx), data.train);
    if (!ctx.flags.json) ctx.log(`${arch} on ${task}: ${data.train.labels.length} train / ${data.val.labels.length} val / ${data.test.labels.length} test`);
    const r = await trainModel({ ...opts, model, train: data.train, val: data.val });
    describeTrained(
      ctx,
      r.model,
      r.trained.map((t) => t.name),
      r.frozen,
    );
    return finishTraining(ctx, r, data.test, out, { arch, task }, opts.threads ?? 1);
  },
};
