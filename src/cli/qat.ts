// `edgefit qat <model> --task … -o out.onnx`: static int8 (QDQ) as the starting point, then
// quantization-aware training with the fp32 model as teacher, then the fp32, PTQ and QAT models scored
// side by side on held-out items (the task's test split), and fp32 against QAT timed interleaved. On
// an OCR task QAT trains with CTC on the texts mixed with the fp32 model per frame (qat-ocr.ts). `edgefit quantize --mode qat --calibration <task>` runs this with its defaults.

import { loadTask } from '../data/task.js';
import { evaluate } from '../eval/evaluate.js';
import { UsageError } from '../onnx/errors.js';
import { requirePositive } from './positive.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import type { Feeds, ParamValues } from '../passes/pass.js';
import { quantizeStatic, quantizeStaticPass, SCOPES } from '../passes/quantize-static.js';
import { createSession } from '../runtime/session.js';
import { sampleSize } from '../train/dataset.js';
import { quantizationAwareTraining } from '../train/qat.js';
import { mnistSampleShape, taskInputs } from '../train/task-data.js';
import type { Command } from './command.js';
import { heldOutOf, isOcrTask } from './ocr-task.js';
import { timeInterleaved, timingFeeds } from './prune-pipeline.js';
import { qatOnTexts } from './qat-ocr.js';

const PRESET_TAGS = (quantizeStaticPass.presets ?? []).map((p) => p.tag);

/** The static int8 parameters QAT starts from: a named preset, or --scope and --depthwise. */
function staticParams(f: Record<string, unknown>): { params: ParamValues; label: string } {
  const tag = f.preset as string | undefined;
  const preset = quantizeStaticPass.presets?.find((p) => p.tag === tag);
  if (preset) return { params: { ...preset.params }, label: `preset ${tag}` };
  return { params: { scope: f.scope as string, quantizeDepthwise: !!f.depthwise }, label: `scope ${f.scope}${f.depthwise ? ', depthwise too' : ''}` };
}

async function score(model: Model, task: Awaited<ReturnType<typeof loadTask>>, limit: number) {
  const s = await createSession(model);
  try {
    return heldOutOf(await evaluate(s, task, { limit }));
  } finally {
    await s.release();
  }
}

export const qatCommand: Command = {
  name: 'qat',
  summary: 'quantization-aware training: static int8 QDQ, then training with the fp32 model as teacher; exports the QDQ model ORT fuses',
  args: [{ name: 'model', description: 'the fp32 .onnx model' }],
  flags: [
    {
      name: 'task',
      type: 'string',
      placeholder: 'name|spec.json',
      description: 'the task whose inputs train (labels are not needed) and whose test split scores',
    },
    { name: 'output', short: 'o', type: 'string', placeholder: 'out.onnx', description: 'where to write the QAT model (required)' },
    { name: 'scope', type: 'string', values: SCOPES, default: 'all', description: 'which nodes go int8 (as quantize --mode static)' },
    { name: 'depthwise', type: 'boolean', description: 'quantize depthwise convs too' },
    {
      name: 'preset',
      type: 'string',
      values: PRESET_TAGS,
      description:
        "a named static int8 configuration in place of --scope/--depthwise (int8-chains: every conv int8, percentile ranges, HardSwish on the uint8 codes; the search's fast form)",
    },
    { name: 'epochs', short: 'e', type: 'integer', placeholder: 'n', default: 2, description: 'passes over the training inputs' },
    { name: 'batch', short: 'b', type: 'integer', placeholder: 'n', default: 8, description: 'batch size' },
    {
      name: 'lr',
      type: 'number',
      placeholder: 'x',
      default: 0.05,
      description: 'AdamW learning rate in quantization steps (weights train in units of their scale; cosine decay)',
    },
    {
      name: 'kd',
      type: 'number',
      placeholder: 'a',
      default: 0.5,
      description: 'OCR tasks: weight of the fp32 model per frame, mixed with CTC on the texts (0: CTC alone)',
    },
    {
      name: 'lsq',
      type: 'boolean',
      description: 'also learn every quantization scale (LSQ: activations, and weights per channel); biases follow their conv',
    },
    { name: 'temperature', short: 'T', type: 'number', placeholder: 'T', default: 1, description: 'temperature of the KL to the fp32 model' },
    { name: 'limit', type: 'integer', placeholder: 'n', default: 256, description: 'training items at most' },
    { name: 'eval-limit', type: 'integer', placeholder: 'n', default: 200, description: 'held-out items scored at most' },
    { name: 'seed', type: 'integer', placeholder: 'n', default: 0, description: 'seed' },
    { name: 'threads', short: 't', type: 'integer', placeholder: 'n', default: 1, description: 'ORT intra-op threads' },
    { name: 'json', type: 'boolean', description: 'print the result as JSON on stdout' },
  ],
  details: `Example:
  edgefit qat ch_PP-OCRv4_rec_infer.onnx --task serials --scope all -o rec-qat.onnx`,
  run: async (ctx) => {
    const f = ctx.flags;
    const [path] = ctx.args;
    const task = f.task as string | undefined;
    const out = f.output as string | undefined;
    if (!path) throw new UsageError('give the fp32 model', 'edgefit qat model.onnx --task serials -o out.onnx');
    if (!task) throw new UsageError('--task is required', 'the inputs QAT trains on, e.g. --task serials');
    if (!out) throw new UsageError('-o/--output is required', 'e.g. -o model.qat.onnx');
    requirePositive(ctx.flags, ['epochs', 'batch', 'lr', 'temperature', 'limit', 'eval-limit', 'threads']);
    const fp32 = readModel(path);
    const seed = f.seed as number;
    const train = await taskInputs(task, 'train', { seed, limit: f.limit as number, ...(task === 'mnist' ? { sampleShape: mnistSampleShape(fp32) } : {}) });
    const s = sampleSize(train);
    const n = train.labels.length;
    const calibration = () =>
      (async function* () {
        for (let first = 0; first < Math.min(n, 64); first += 8) {
          const k = Math.min(8, n - first);
          const input = fp32.graph.realInputs()[0]!.name;
          yield { [input]: { type: 'float32', data: train.x.subarray(first * s, (first + k) * s), dims: [k, ...train.sampleShape] } } as Feeds;
        }
      })();
    const start = staticParams(f);
    const ptq = await quantizeStatic(fp32, start.params, { calibration });
    if (!f.json) ctx.log(`static int8 (${start.label}): ${ptq.quantized.length} nodes; QAT on ${n} items …`);
    const r = (await isOcrTask(task))
      ? await qatOnTexts({
          fp32,
          qdq: ptq.model,
          task,
          limit: f.limit as number,
          epochs: f.epochs as number,
          batch: f.batch as number,
          lr: f.lr as number,
          kd: f.kd as number,
          lsq: !!f.lsq,
          seed,
          threads: f.threads as number,
          log: (l) => !f.json && ctx.log(l),
        })
      : await quantizationAwareTraining({
          teacher: fp32,
          qdq: ptq.model,
          train,
          epochs: f.epochs as number,
          batchSize: f.batch as number,
          temperature: f.temperature as number,
          optimizer: { lr: f.lr as number, cosine: true },
          learnScales: !!f.lsq,
          seed,
          threads: f.threads as number,
          onEpoch: (e) => {
            if (!f.json) ctx.log(`epoch ${e.epoch}  KL to fp32 ${e.loss.toExponential(3)}  ${e.seconds.toFixed(1)} s`);
          },
        });
    writeModel(r.model, out);
    const timing = await timeInterleaved(fp32, r.model, await timingFeeds(await loadTask(task, { seed, split: 'test', limit: 5 }), fp32), {
      threads: f.threads as number,
    });
    const held = await loadTask(task, { seed, split: 'test' });
    const limit = f['eval-limit'] as number;
    const result = {
      model: path,
      task,
      output: out,
      scope: f.scope,
      static: start.label,
      learnedScales: !!f.lsq,
      steps: r.steps,
      stepsPerSecond: r.stepsPerSecond,
      trainableParameters: r.trainableParams,
      objective: 'objective' in r ? r.objective : 'kd',
      latencyMs: { fp32: { p50: timing.a.p50, p99: timing.a.p99 }, qat: { p50: timing.b.p50, p99: timing.b.p99 } },
      heldOut: { fp32: await score(fp32, held, limit), ptq: await score(ptq.model, held, limit), qat: await score(r.model, held, limit) },
    };
    if (f.json) {
      ctx.stdout.write(JSON.stringify({ ...result, history: r.history }, null, 2) + '\n');
      return 0;
    }
    const h = result.heldOut;
    ctx.log(`held-out ${h.fp32.metric} (${h.fp32.n} items): fp32 ${h.fp32.value.toFixed(4)}, PTQ ${h.ptq.value.toFixed(4)}, QAT ${h.qat.value.toFixed(4)}`);
    if (h.qat.withoutSpaces !== undefined)
      ctx.log(`  without spaces: fp32 ${h.fp32.withoutSpaces?.toFixed(4)}, PTQ ${h.ptq.withoutSpaces?.toFixed(4)}, QAT ${h.qat.withoutSpaces.toFixed(4)}`);
    const l = result.latencyMs;
    ctx.log(
      `latency (interleaved, ${f.threads} thread): p50 ${l.fp32.p50.toFixed(2)} → ${l.qat.p50.toFixed(2)} ms (${(l.fp32.p50 / l.qat.p50).toFixed(2)}×), p99 ${l.fp32.p99.toFixed(2)} → ${l.qat.p99.toFixed(2)} ms (${(l.fp32.p99 / l.qat.p99).toFixed(2)}×)`,
    );
    ctx.log(`wrote ${out}`);
    return 0;
  },
};
