// `edgefit finetune <rec.onnx> --task serials --loss ctc`: the whole model trains on the task's texts
// with the CTC loss (src/train/ctc-train.ts), no teacher; CER on held-out items before and after.

import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { writeModel } from '../onnx/write-model.js';
import { trainCtc } from '../train/ctc-train.js';
import { modelNormalisation } from '../train/task-data.js';
import type { CommandContext, FlagSpec } from './command.js';
import { fmtHeldOut, ocrHeldOut, ocrTrainSamples, scoreHeldOut } from './ocr-task.js';
import { preparedForPruning } from './prune-pipeline.js';

export const CTC_FLAGS: FlagSpec[] = [
  {
    name: 'loss',
    type: 'string',
    values: ['cross-entropy', 'ctc'],
    description: 'cross-entropy on class labels (a new head), or ctc on the texts of an OCR task (the whole model trains); default: ctc for OCR tasks',
  },
  { name: 'steps', type: 'integer', placeholder: 'n', description: 'with --loss ctc: training steps (default 60)' },
  { name: 'eval-limit', type: 'integer', placeholder: 'n', description: 'with --loss ctc: held-out items scored before and after (default 100)' },
];

/** Flags of the head / classification path that mean nothing to CTC training: an error, not silence. */
function refuseHeadFlags(ctx: CommandContext): void {
  const f = ctx.flags;
  const given = [
    'cut',
    'unfreeze',
    'lora',
    'lora-pattern',
    'unfreeze-epochs',
    'unfreeze-lr',
    'balance',
    'patience',
    'checkpoint',
    'resume',
    'cosine',
    'clip',
  ].filter((k) => f[k] !== undefined && f[k] !== false);
  if (f.optimizer === 'sgd') given.push('optimizer sgd');
  if (f.update === 'graph') given.push('update graph');
  if (((f.warmup as number | undefined) ?? 0) > 0) given.push('warmup');
  if (((f['label-smoothing'] as number | undefined) ?? 0) > 0) given.push('label-smoothing');
  if (given.length)
    throw new UsageError(
      `--${given.join(', --')} ${given.length > 1 ? 'do' : 'does'} not apply to --loss ctc, which trains the whole model on the texts with AdamW`,
      'leave them out; --steps, --lr, --batch, --limit and --eval-limit set the CTC run',
    );
}

function positive(ctx: CommandContext, name: string, fallback: number): number {
  const v = (ctx.flags[name] as number | undefined) ?? fallback;
  if (!(v >= 1)) throw new UsageError(`--${name} must be at least 1, got ${v}`);
  return v;
}

export async function finetuneCtc(ctx: CommandContext, path: string, source: Model, task: string, out: string): Promise<number> {
  refuseHeadFlags(ctx);
  const f = ctx.flags;
  const seed = f.seed as number;
  const threads = f.threads as number;
  const steps = positive(ctx, 'steps', 60);
  const batch = positive(ctx, 'batch', 16);
  const lr = (f.lr as number | undefined) ?? 3e-4;
  const norm = f['task-normalisation'] ? undefined : modelNormalisation(source);
  const model = await preparedForPruning(source);
  const data = await ocrTrainSamples(task, model, { seed, limit: positive(ctx, 'limit', 200), preprocess: norm?.preprocess });
  const held = await ocrHeldOut(task, { seed, limit: positive(ctx, 'eval-limit', 100), preprocess: norm?.preprocess });
  const trainable = data.labels.filter((l) => l !== undefined).length;
  if (!f.json)
    ctx.log(
      `${path} on ${task}: CTC on ${trainable} labelled train items${data.unknown ? ` (${data.unknown} with characters outside the dictionary left out)` : ''}, ${steps} steps, batch ${batch}, lr ${lr}`,
    );
  const before = await scoreHeldOut(model, held, threads);
  if (!f.json) ctx.log(`held-out ${before.metric} before (${before.n} items): ${fmtHeldOut(before)}`);
  const r = await trainCtc({
    model,
    data,
    blank: data.blank,
    steps,
    lr,
    batchSize: batch,
    seed,
    threads,
    onStep: (s) => {
      if (!f.json) ctx.log(`step ${String(s.step).padStart(4)}/${steps}  CTC loss ${s.loss.toFixed(4)}  (${s.feasible}/${s.batch} items fit)`);
    },
  });
  const after = await scoreHeldOut(r.model, held, threads);
  writeModel(r.model, out);
  const result = {
    model: path,
    task,
    output: out,
    loss: 'ctc',
    steps: r.steps,
    skippedSteps: r.skipped,
    lr,
    batch,
    trainItems: trainable,
    probeLoss: { before: r.lossBefore, after: r.lossAfter },
    heldOut: { before, after },
    wallSeconds: r.wallMs / 1000,
  };
  if (f.json) {
    ctx.stdout.write(JSON.stringify({ ...result, history: r.history }, null, 2) + '\n');
    return 0;
  }
  ctx.log(`CTC loss on a fixed batch of ${Math.min(batch, data.labels.length)} train items: ${r.lossBefore.toFixed(4)} → ${r.lossAfter.toFixed(4)}`);
  ctx.log(`held-out ${after.metric} (${after.n} items): ${fmtHeldOut(before)} → ${fmtHeldOut(after)}; ${r.steps} steps in ${(r.wallMs / 1000).toFixed(0)} s`);
  ctx.log(`wrote ${out}`);
  return 0;
}
