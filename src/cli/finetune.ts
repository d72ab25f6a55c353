// `edgefit finetune <model> --task <spec|builtin> -o out.onnx`: cuts a pretrained model at a feature
// tensor (named with --cut, or found), trains a new head for the task's classes, optionally unfreezes
// the last blocks, prints what was trained, the curve and the final metrics, and writes the model.

import { UsageError } from '../onnx/errors.js';
import { readModel } from '../onnx/read-model.js';
import { finetune } from '../train/finetune.js';
import { taskSplits } from '../train/task-data.js';
import type { Command } from './command.js';
import { finishTraining, pct, TRAIN_FLAGS, trainOptionsFromFlags, withBalance } from './train.js';

export const finetuneCommand: Command = {
  name: 'finetune',
  summary: 'fine-tune a pretrained model on a task: cut at a feature tensor, new head, optionally unfreeze blocks',
  args: [{ name: 'model', description: 'the pretrained .onnx model' }],
  flags: [
    { name: 'cut', type: 'string', placeholder: 'tensor', description: 'cut the model at this tensor (default: the last GlobalAveragePool output, or the classifier input)' },
    { name: 'unfreeze', type: 'string', placeholder: 'n|pattern', description: 'after the head, also train the last n weight layers (with their BatchNorm scale/bias), or parameters matching a pattern' },
    { name: 'unfreeze-epochs', type: 'integer', placeholder: 'n', description: 'epochs of the unfreeze phase (default: --epochs)' },
    ...TRAIN_FLAGS.filter((f) => f.name !== 'task'),
    { name: 'task', type: 'string', placeholder: 'name|spec.json', description: 'the task to fine-tune on (built-in name or task spec; required)' },
  ],
  details: `The head trains on features the frozen backbone computes once; with --unfreeze the last layers
train with it through the whole graph at a tenth of the learning rate. Examples:
  edgefit finetune ch_ppocr_mobile_v2.0_cls_infer.onnx --task parts --limit 1000 -o parts.onnx
  edgefit finetune model.onnx --task spec.json --cut features --unfreeze 2 --epochs 10 -o out.onnx --json`,
  run: async (ctx) => {
    const [path] = ctx.args;
    const out = ctx.flags.output as string | undefined;
    const task = ctx.flags.task as string | undefined;
    if (!path) throw new UsageError('give the pretrained model: edgefit finetune <model.onnx> --task <task> -o out.onnx');
    if (!task) throw new UsageError('--task is required', 'a built-in task (parts, mnist, …) or a task spec .json');
    if (!out) throw new UsageError('-o/--output is required', 'e.g. -o finetuned.onnx');
    const model = readModel(path);
    const data = await taskSplits(task, { seed: ctx.flags.seed as number, limit: ctx.flags.limit as number | undefined });
    const u = ctx.flags.unfreeze as string | undefined;
    const unfreeze = u === undefined ? undefined : /^\d+$/.test(u) ? Number(u) : u;
    const opts = withBalance(ctx, trainOptionsFromFlags(ctx), data.train);
    if (!ctx.flags.json) ctx.log(`${path} on ${task}: ${data.train.labels.length} train / ${data.val.labels.length} val / ${data.test.labels.length} test, ${data.train.classes.length} classes`);
    const r = await finetune({ ...opts, model, train: data.train, val: data.val, cut: ctx.flags.cut as string | undefined, unfreeze, unfreezeEpochs: ctx.flags['unfreeze-epochs'] as number | undefined });
    if (!ctx.flags.json) {
      ctx.log(`cut at '${r.feature}' (shape [${r.featureShape.join(', ')}] for this batch); head ${r.head.trained.map((t) => `${t.size}`).join(' + ')} parameters`);
      if (r.unfrozen) ctx.log(`unfroze ${r.unfrozen.trained.length} tensors: ${r.unfrozen.trained.map((t) => t.name).join(', ')}`);
      const last = (r.unfrozen ?? r.head).history.at(-1);
      if (last?.valAccuracy !== undefined) ctx.log(`final val accuracy ${pct(last.valAccuracy)}`);
    }
    const final = r.unfrozen ?? r.head;
    return finishTraining(ctx, { ...final, model: r.model }, data.test, out, { model: path, task, cut: r.feature, head: r.head.history, unfrozen: r.unfrozen?.trained.map((t) => t.name) }, opts.threads ?? 1);
  },
};
