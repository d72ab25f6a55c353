// `edgefit finetune <rec.onnx> --task serials --loss ctc`: the whole model trains on the task's texts
// with the CTC loss (src/train/ctc-train.ts), no teacher; CER on held-out items before and after. With
// --lora only low-rank adapters train (merged on export), and --save-adapter also writes them alone,
// a whole-model adapter file that `serve` and `eval` merge into the same base at load.

import { statSync } from 'node:fs';
import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { writeModel } from '../onnx/write-model.js';
import { trainCtc } from '../train/ctc-train.js';
import { addLora, loraCounts, mergeLora, parseLora } from '../train/lora.js';
import { wholeModelAdapterContent, writeAdapter } from '../train/lora-adapter.js';
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
  const given = ['cut', 'unfreeze', 'unfreeze-epochs', 'unfreeze-lr', 'balance', 'patience', 'checkpoint', 'resume', 'cosine', 'clip'].filter(
    (k) => f[k] !== undefined && f[k] !== false,
  );
  if (f.optimizer === 'sgd') given.push('optimizer sgd');
  if (f.update === 'graph') given.push('update graph');
  if (((f.warmup as number | undefined) ?? 0) > 0) given.push('warmup');
  if (((f['label-smoothing'] as number | undefined) ?? 0) > 0) given.push('label-smoothing');
  if (given.length)
    throw new UsageError(
      `--${given.join(', --')} ${given.length > 1 ? 'do' : 'does'} not apply to --loss ctc, which trains the whole model on the texts with AdamW`,
      'leave them out; --steps, --lr, --batch, --limit, --eval-limit and --lora set the CTC run',
    );
}

function positive(ctx: CommandContext, name: string, fallback: number): number {
  const v = (ctx.flags[name] as number | undefined) ?? fallback;
  if (!(v >= 1)) throw new UsageError(`--${name} must be at least 1, got ${v}`);
  return v;
}

export async function finetuneCtc(ctx: CommandContext, path: string, source: Model, task: string, out: string, adapterOut?: string): Promise<number> {
  refuseHeadFlags(ctx);
  const f = ctx.flags;
  const seed = f.seed as number;
  const threads = f.threads as number;
  const steps = positive(ctx, 'steps', 60);
  const batch = positive(ctx, 'batch', 16);
  const lr = (f.lr as number | undefined) ?? 3e-4;
  const norm = f['task-normalisation'] ? undefined : modelNormalisation(source);
  const model = await preparedForPruning(source);
  const lora = loraOf(ctx, model, seed);
  const data = await ocrTrainSamples(task, model, { seed, limit: positive(ctx, 'limit', 200), preprocess: norm?.preprocess });
  const held = await ocrHeldOut(task, { seed, limit: positive(ctx, 'eval-limit', 100), preprocess: norm?.preprocess });
  const trainable = data.labels.filter((l) => l !== undefined).length;
  if (!f.json)
    ctx.log(
      `${path} on ${task}: CTC on ${trainable} labelled train items${data.unknown ? ` (${data.unknown} with characters outside the dictionary left out)` : ''}, ${steps} steps, batch ${batch}, lr ${lr}`,
    );
  const counts = lora ? loraCounts(lora.adapters) : undefined;
  if (counts && !f.json)
    ctx.log(
      `LoRA rank ${f.lora}: ${lora!.adapters.length} adapters, ${counts.trainable} trainable parameters for ${counts.adapted} adapted weights (${((100 * counts.trainable) / counts.adapted).toFixed(2)}%); the rest stays frozen`,
    );
  const before = await scoreHeldOut(model, held, threads);
  if (!f.json) ctx.log(`held-out ${before.metric} before (${before.n} items): ${fmtHeldOut(before)}`);
  const r = await trainCtc({
    model: lora?.model ?? model,
    trainable: lora?.trainable,
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
  const trained = lora ? mergeLora(model, r.model, lora.adapters) : r.model;
  const after = await scoreHeldOut(trained, held, threads);
  writeModel(trained, out);
  if (adapterOut !== undefined && lora) {
    writeAdapter(adapterOut, wholeModelAdapterContent(source, r.model, lora.adapters));
    if (!f.json)
      ctx.log(
        `wrote ${adapterOut}: ${lora.adapters.length} adapters, ${(statSync(adapterOut).size / 1024).toFixed(0)} KiB, for ${path} (no new head: the whole model's adapters)`,
      );
  }
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
    ...(counts ? { lora: { rank: lora!.adapters[0]?.rank ?? 0, adapters: lora!.adapters.length, ...counts } } : {}),
    ...(adapterOut !== undefined ? { adapter: adapterOut } : {}),
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
  ctx.log(`wrote ${out}${lora ? ' (adapters merged into the weights)' : ''}`);
  return 0;
}

/** The model with LoRA adapters when --lora is given; rank 0 trains nothing here (there is no head), so it is refused. */
function loraOf(ctx: CommandContext, model: Model, seed: number): ReturnType<typeof addLora> | undefined {
  const f = ctx.flags;
  if (f.lora === undefined) {
    if (f['lora-pattern'] !== undefined) throw new UsageError('--lora-pattern chooses the weights --lora adapts', 'add --lora rank (e.g. --lora 8)');
    return undefined;
  }
  const lora = addLora(model, { ...parseLora(f.lora as string, f['lora-pattern'] as string | undefined), seed });
  if (lora.adapters.length === 0)
    throw new UsageError('--lora 0 trains nothing on --loss ctc: there is no new head, only the adapters train', 'give a rank ≥ 1, e.g. --lora 8');
  return lora;
}
