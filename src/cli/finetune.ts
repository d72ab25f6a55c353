// `edgefit finetune <model> --task <spec|builtin> -o out.onnx`: cuts a pretrained model at a feature
// tensor (named with --cut, or found), trains a new head for the task's classes, optionally unfreezes
// the last blocks, prints what was trained, the curve and the final metrics, and writes the model. On an
// OCR task (texts, not classes) the whole model trains with the CTC loss instead (finetune-ctc.ts).

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../onnx/errors.js';
import { readModel } from '../onnx/read-model.js';
import { finetune } from '../train/finetune.js';
import { parseLora } from '../train/lora.js';
import { adapterContent, writeAdapter } from '../train/lora-adapter.js';
import { mnistSampleShape, modelNormalisation, taskSplits } from '../train/task-data.js';
import type { Command } from './command.js';
import { CTC_FLAGS, finetuneCtc } from './finetune-ctc.js';
import { isOcrTask } from './ocr-task.js';
import { finishTraining, pct, TRAIN_FLAGS, trainOptionsFromFlags, withBalance } from './train.js';

export const finetuneCommand: Command = {
  name: 'finetune',
  summary: 'fine-tune a pretrained model on a task: cut at a feature tensor, new head, optionally unfreeze blocks',
  args: [{ name: 'model', description: 'the pretrained .onnx model' }],
  flags: [
    {
      name: 'cut',
      type: 'string',
      placeholder: 'tensor',
      description: 'cut the model at this tensor (default: the last GlobalAveragePool output, or the classifier input)',
    },
    {
      name: 'unfreeze',
      type: 'string',
      placeholder: 'n|pattern',
      description: "after the head, also train the last n weight layers (with their BatchNorm scale/bias), 'all' weights, or parameters matching a pattern",
    },
    {
      name: 'lora',
      type: 'string',
      placeholder: 'rank[:alpha]',
      description:
        'after the head, train low-rank adapters on the backbone weights (MatMul, Gemm, 1×1 Conv) with it instead of unfreezing them; merged on export',
    },
    {
      name: 'lora-pattern',
      type: 'string',
      placeholder: 'regex',
      description: 'with --lora: the weights that get adapters (default: every eligible backbone weight)',
    },
    {
      name: 'save-adapter',
      type: 'string',
      placeholder: 'file.onnx',
      description:
        "with --lora: also write the adapters (and a classifier's head) alone, kilobytes to megabytes, to apply to the same base at load time: `edgefit serve <model> --adapter file`",
    },
    { name: 'unfreeze-epochs', type: 'integer', placeholder: 'n', description: 'epochs of the unfreeze phase (default: 10)' },
    {
      name: 'unfreeze-lr',
      type: 'number',
      placeholder: 'x',
      description: 'peak learning rate of the unfreeze or LoRA phase (default 0.001 to unfreeze, 0.003 with --lora, whose B starts at zero; cosine decay)',
    },
    {
      name: 'candidates',
      type: 'integer',
      placeholder: 'n',
      default: 4,
      description: 'without --cut: try this many cut points (block outputs before the last pools) and keep the best on validation',
    },
    {
      name: 'task-normalisation',
      type: 'boolean',
      description: "feed the task's own input normalisation instead of the one the model is known to expect (PaddleOCR: BGR, (x/255-0.5)/0.5)",
    },
    ...TRAIN_FLAGS.filter((f) => f.name !== 'task').map((f) =>
      f.name === 'epochs'
        ? { ...f, default: 30, description: 'passes of the head over the cached features' }
        : f.name === 'lr'
          ? { ...f, description: 'peak learning rate of the head (default 0.003; the unfreeze phase uses a tenth; --loss ctc: 0.0003)' }
          : f.name === 'batch'
            ? { ...f, default: undefined, description: 'batch size (default 64; --loss ctc: 16)' }
            : f,
    ),
    ...CTC_FLAGS,
    { name: 'task', type: 'string', placeholder: 'name|spec.json', description: 'the task to fine-tune on (built-in name or task spec; required)' },
  ],
  details: `The images get the normalisation the model expects when edgefit knows the model (PaddleOCR).
Without --cut, heads are trained on the last few block outputs (globally average-pooled) and the cut
with the best validation macro-F1 is kept. The head is linear, trains on features the frozen backbone
computes once (standardised; the scaling is folded into its weights), AdamW with cosine decay, the best
validation epoch kept. With --unfreeze the last layers (or all) train with it through the whole graph
(lr 0.001, 10 epochs by default); the result is kept only if it beats the head alone on validation. On
the parts task, --unfreeze all is what lifts a PaddleOCR cls backbone from ~60% to ~80% accuracy
(docs/train.md). Examples:
  edgefit finetune ch_ppocr_mobile_v2.0_cls_infer.onnx --task parts --limit 5000 --unfreeze all -o parts.onnx
  edgefit finetune model.onnx --task spec.json --cut features --unfreeze 2 --epochs 10 -o out.onnx --json
On an OCR task (output.decode ctc, e.g. serials) the whole model trains on the texts with the CTC loss
for --steps steps (AdamW, lr 3e-4 by default: 1e-3 wrecks PaddleOCR rec) on --limit items of the train split
(default 200); CER on --eval-limit items of the test split before and after:
  edgefit finetune ch_PP-OCRv4_rec_infer.onnx --task serials --loss ctc --steps 40 -b 8 -o rec-ctc.onnx`,
  run: async (ctx) => {
    const [path] = ctx.args;
    const out = ctx.flags.output as string | undefined;
    const task = ctx.flags.task as string | undefined;
    if (!path) throw new UsageError('give the pretrained model: edgefit finetune <model.onnx> --task <task> -o out.onnx');
    if (!task) throw new UsageError('--task is required', 'a built-in task (parts, mnist, …) or a task spec .json');
    if (!out) throw new UsageError('-o/--output is required', 'e.g. -o finetuned.onnx');
    const adapterOut = ctx.flags['save-adapter'] as string | undefined;
    if (adapterOut !== undefined && ctx.flags.lora === undefined)
      throw new UsageError('--save-adapter writes what LoRA trained', 'add --lora rank (e.g. --lora 8), or leave out --save-adapter');
    if (adapterOut !== undefined && resolve(adapterOut) === resolve(out))
      throw new UsageError('--save-adapter and -o name the same file', 'give the adapter its own path, e.g. line3.adapter.onnx');
    const model = readModel(path);
    const loss = ctx.flags.loss as string | undefined;
    if (loss === 'ctc' || (loss === undefined && (await isOcrTask(task)))) return finetuneCtc(ctx, path, model, task, out, adapterOut);
    for (const k of ['steps', 'eval-limit'])
      if (ctx.flags[k] !== undefined) throw new UsageError(`--${k} applies to --loss ctc only`, 'the head trains for --epochs; scoring uses the test split');
    const norm = ctx.flags['task-normalisation'] ? undefined : modelNormalisation(model);
    const data = await taskSplits(task, {
      seed: ctx.flags.seed as number,
      limit: ctx.flags.limit as number | undefined,
      preprocess: norm?.preprocess,
      ...(task === 'mnist' ? { sampleShape: mnistSampleShape(model) } : {}),
    });
    if (norm && !ctx.flags.json)
      ctx.log(
        `input normalisation the model expects: ${norm.preprocess.channels}, (x/${Math.round(1 / (norm.preprocess.scale ?? 1))} − ${norm.preprocess.mean?.join('/')}) / ${norm.preprocess.std?.join('/')} (${norm.reason})`,
      );
    const u = ctx.flags.unfreeze as string | undefined;
    const unfreeze = u === undefined ? undefined : /^\d+$/.test(u) ? Number(u) : u;
    const base = trainOptionsFromFlags(ctx);
    const opts = withBalance(
      ctx,
      { ...base, select: 'macro-f1' as const, optimizer: { ...base.optimizer, lr: (ctx.flags.lr as number | undefined) ?? 3e-3, cosine: true } },
      data.train,
    );
    if (!ctx.flags.json)
      ctx.log(
        `${path} on ${task}: ${data.train.labels.length} train / ${data.val.labels.length} val / ${data.test.labels.length} test, ${data.train.classes.length} classes`,
      );
    const r = await finetune({
      ...opts,
      model,
      train: data.train,
      val: data.val,
      cut: ctx.flags.cut as string | undefined,
      onHead: (h) => {
        if (ctx.flags.json) return;
        if (h.cuts.length > 1)
          for (const c of h.cuts)
            ctx.log(
              `  cut '${c.tensor}' (${c.features} features): val macro-F1 ${pct(c.valMacroF1)}, accuracy ${pct(c.valAccuracy)}${c.tensor === h.feature ? '  ← kept' : ''}`,
            );
        ctx.log(`head on '${h.feature}':`);
        for (const e of h.head.history) opts.onEpoch?.(e);
        if (ctx.flags.lora !== undefined) ctx.log(`LoRA phase (rank ${ctx.flags.lora}), adapters and the head through the whole graph:`);
        else if (unfreeze !== undefined && unfreeze !== 0) ctx.log(`unfreeze phase (${u}), the head and those layers through the whole graph:`);
      },
      candidates: ctx.flags.candidates as number,
      unfreeze,
      lora: ctx.flags.lora !== undefined ? parseLora(ctx.flags.lora as string, ctx.flags['lora-pattern'] as string | undefined) : undefined,
      unfreezeEpochs: (ctx.flags['unfreeze-epochs'] as number | undefined) ?? 10,
      unfreezeLr: (ctx.flags['unfreeze-lr'] as number | undefined) ?? (ctx.flags.lora !== undefined ? 3e-3 : 1e-3),
    });
    if (!ctx.flags.json) {
      ctx.log(
        `cut at '${r.feature}' (shape [${r.featureShape.join(', ')}] for this batch); head ${r.head.trained.map((t) => `${t.size}`).join(' + ')} parameters`,
      );
      if (r.lora)
        ctx.log(
          `LoRA: ${r.lora.adapters} adapters, ${r.lora.trainable} trainable parameters for ${r.lora.adapted} adapted weights (${((100 * r.lora.trainable) / r.lora.adapted).toFixed(2)}%), merged into the exported weights`,
        );
      if (r.unfrozen)
        ctx.log(
          `unfroze ${r.unfrozen.trained.length} tensors: ${r.unfrozen.trained.map((t) => t.name).join(', ')}${r.unfrozenKept ? '' : ' — not kept: the head alone scored better on validation'}`,
        );
      const fin = r.unfrozenKept ? r.unfrozen! : r.head;
      const best = fin.history[fin.bestEpoch - 1];
      if (best?.valAccuracy !== undefined)
        ctx.log(`best val epoch ${fin.bestEpoch}: accuracy ${pct(best.valAccuracy)}, macro-F1 ${pct(best.valMacroF1 ?? NaN)}`);
    }
    if (adapterOut !== undefined) {
      const content = adapterContent(model, r);
      writeAdapter(adapterOut, content);
      if (!ctx.flags.json)
        ctx.log(
          `wrote ${adapterOut}: ${content.adapters.length} adapters and the head${content.adapters.length ? '' : ' (the LoRA phase was not kept, so the head alone)'}, ${(statSync(adapterOut).size / 1024).toFixed(0)} KiB, for ${path}`,
        );
    }
    const final = r.unfrozenKept ? r.unfrozen! : r.head;
    return finishTraining(
      ctx,
      { ...final, model: r.model },
      data.test,
      out,
      {
        model: path,
        task,
        cut: r.feature,
        cuts: r.cuts,
        normalisation: norm ? 'model' : 'task',
        head: r.head.history,
        lora: r.lora,
        unfrozen: r.unfrozen?.trained.map((t) => t.name),
        unfrozenKept: r.unfrozenKept,
      },
      opts.threads ?? 1,
    );
  },
};
