// The prune job behind `edgefit prune` and bench/prune.ts: prepare, score the input on the task (which
// also proves the task fits the model), prune structurally, recover by distillation from the input,
// then measure both: parameters, MACs, p50/p99 timed interleaved in this process, and the task metric
// with its confidence interval. Nothing is written here; the caller writes the model once all is done.

import type * as ort from 'onnxruntime-node';
import { measureLatency } from '../bench/latency.js';
import { machineInfo, type MachineInfo } from '../bench/machine.js';
import { summarize } from '../bench/stats.js';
import { modelIO, fitTaskToModel } from '../data/fit-task.js';
import { loadTask, type Task } from '../data/task.js';
import { evaluate, type EvalResult } from '../eval/evaluate.js';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import { inspectModel } from '../onnx/inspect-model.js';
import { trainableForm } from '../onnx/trainable-form.js';
import type { Model } from '../onnx/model.js';
import { pruneStructured } from '../passes/prune-structured.js';
import type { Skipped } from '../passes/pass.js';
import type { GroupPlan } from '../passes/prune/select-channels.js';
import { createSession } from '../runtime/session.js';
import { pruneAndRecover, type RecoverData } from '../train/recover.js';
import { weightGradients } from '../train/taylor-gradients.js';
import { floatIdView, idModel, readsIds } from '../train/id-input-view.js';
import { pruneLayers } from '../passes/prune-layers.js';
import { trainCtc } from '../train/ctc-train.js';
import type { CtcSamples } from '../train/ctc-data.js';
import { modelNormalisation } from '../train/task-data.js';
import { isOcrTask, ocrTrainSamples } from './ocr-task.js';
import type { Feeds } from '../passes/pass.js';
import { idRows } from '../train/id-rows.js';

export const PRUNE_SCHEMA = 'edgefit.prune/1';

export interface PruneJob {
  model: Model;
  task: string;
  data?: string;
  ratio: number;
  method: 'l1' | 'l2' | 'bn' | 'taylor';
  scope?: 'layer' | 'global' | 'wide';
  multiple?: number;
  recoverEpochs: number;
  /** Whole layers to remove (prune-layers, least block influence first) after the channels; 0: none. */
  layers?: number;
  /** Prune-recover rounds (iterative schedule); 1 is one-shot. */
  steps?: number;
  lr?: number;
  trainSamples?: number;
  evalSamples?: number;
  threads?: number;
  rounds?: number;
  iterations?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface Quality {
  metric: string;
  value: number;
  ci: [number, number];
  higherIsBetter: boolean;
  n: number;
}

export interface Latency {
  p50: number;
  p99: number;
  count: number;
}

export interface PruneReport {
  schema: typeof PRUNE_SCHEMA;
  task: string;
  ratio: number;
  method: string;
  params: { input: number; output: number };
  macs: { input: number; output: number; complete: boolean };
  latencyMs: { input: Latency; output: Latency };
  speedup: { p50: number; p99: number };
  verdict: 'faster' | 'unchanged' | 'slower';
  quality: { input: Quality; output: Quality };
  /** objective 'ctc' (OCR tasks: loss = the probe batch's CTC loss before and after) or 'distillation' (loss per epoch). */
  recovery: { epochs: number; steps: number; samples: number; teacherRuns: number; loss: number[]; objective: 'ctc' | 'distillation' } | null;
  groups: GroupPlan[];
  /** Whole layers removed (--layers), each with its block influence; empty without. */
  layersDropped: string[];
  skipped: Skipped[];
  notes: string[];
  machine: MachineInfo;
}

/** Constant-node weights to initializers and opset ≥ 13, as training and the pass need (trainableForm). */
export async function preparedForPruning(model: Model): Promise<Model> {
  return trainableForm(model);
}

/** The task's images (and class labels, where it has them) as one array, fitted to the model's input. */
export async function taskSamples(task: Task, model: Model, limit: number): Promise<RecoverData> {
  const { task: fitted, input } = fitTaskToModel(task, modelIO(model));
  const parts: Float32Array[] = [];
  const labels: number[] = [];
  let shape: number[] | undefined;
  for await (const b of fitted.batches({ batchSize: 32, input })) {
    const t = b.feeds[input]!;
    const pre = fitted.spec.preprocess;
    const ids = t.type === 'int64' && pre.kind === 'text';
    if (t.type !== 'float32' && !ids)
      throw new UsageError(`task '${task.name}' does not give float32 inputs or token ids`, 'recovery needs an image, tensor or text task');
    // token ids as float rows of the full length: training reads them through floatIdView
    const per = ids ? [pre.maxLength] : (t.dims.slice(1) as number[]);
    if (shape && shape.join() !== per.join())
      throw new UsageError(`task '${task.name}' gives samples of different shapes`, 'use a fixed-size preprocess (pad: fixed) for recovery');
    shape = per;
    parts.push(ids ? idRows(t, per[0]!) : (t.data as Float32Array));
    for (const l of b.labels) labels.push(typeof l === 'number' ? l : -1);
    if (labels.length >= limit) break;
  }
  if (!shape) throw new UsageError(`task '${task.name}' has no training items`, 'give the task more items (--data)');
  const s = shape.reduce((p, q) => p * q, 1);
  const n = Math.min(limit, labels.length);
  const x = new Float32Array(n * s);
  let at = 0;
  for (const p of parts) {
    const k = Math.min(p.length, x.length - at);
    x.set(p.subarray(0, k), at);
    at += k;
  }
  const classLabels = labels.slice(0, n).every((l) => l >= 0) ? Int32Array.from(labels.slice(0, n)) : undefined;
  return { x, sampleShape: shape, labels: classLabels };
}

export async function scoreOn(model: Model, task: Task, limit: number, threads: number): Promise<EvalResult> {
  const s = await createSession(model, { threads });
  try {
    return await evaluate(s, task, { limit, batchSize: 8 });
  } catch (e) {
    if (e instanceof EdgefitError) throw e;
    throw new UsageError(
      `task '${task.name}' does not fit the model: ${(e as Error).message.split('\n')[0]}`,
      'check the task against `edgefit inspect <model>`',
    );
  } finally {
    await s.release();
  }
}

const quality = (r: EvalResult): Quality => ({
  metric: r.primary.name,
  value: r.primary.value,
  ci: r.primary.ci,
  higherIsBetter: r.primary.higherIsBetter,
  n: r.n,
});

/** p50/p99 of two models timed in alternating rounds on the same feeds (load drift hits both alike). */
export async function timeInterleaved(
  a: Model,
  b: Model,
  feeds: Record<string, ort.Tensor>,
  opts: { threads?: number; rounds?: number; iterations?: number } = {},
): Promise<{ a: Latency; b: Latency; samplesMs: { a: number[]; b: number[] } }> {
  const threads = opts.threads ?? 1;
  const [sa, sb] = [await createSession(a, { threads }), await createSession(b, { threads })];
  try {
    await measureLatency(sa, feeds, { warmup: 5, iterations: 1 });
    await measureLatency(sb, feeds, { warmup: 5, iterations: 1 });
    const ta: number[] = [];
    const tb: number[] = [];
    for (let r = 0; r < (opts.rounds ?? 8); r++)
      for (const [s, into] of r % 2 ? [[sb, tb] as const, [sa, ta] as const] : [[sa, ta] as const, [sb, tb] as const])
        into.push(...(await measureLatency(s, feeds, { warmup: 1, iterations: opts.iterations ?? 25 })).samplesMs);
    const lat = (v: number[]): Latency => {
      const s = summarize(v);
      return { p50: s.p50, p99: s.p99, count: s.count };
    };
    return { a: lat(ta), b: lat(tb), samplesMs: { a: ta, b: tb } };
  } finally {
    await sa.release();
    await sb.release();
  }
}

/** One timing sample of the task: the first held-out item, batch 1. */
export async function timingFeeds(task: Task, model: Model): Promise<Record<string, ort.Tensor>> {
  const { task: fitted, input } = fitTaskToModel(task, modelIO(model));
  for await (const b of fitted.batches({ batchSize: 1, input })) return b.feeds;
  throw new UsageError(`task '${task.name}' has no items to time on`, 'give the task more items');
}

export async function runPruneJob(job: PruneJob): Promise<{ model: Model; report: PruneReport }> {
  const log = job.log ?? (() => {});
  const threads = job.threads ?? 1;
  const evalN = job.evalSamples ?? 200;
  const input = await preparedForPruning(job.model);
  const held = await loadTask(job.task, { data: job.data, split: 'test', limit: job.data ? undefined : evalN, seed: job.seed ?? 0 });
  log(`scoring the input on '${held.name}'…`);
  const q0 = await scoreOn(input, held, evalN, threads);
  const layers = job.layers ?? 0;
  if (layers > 0 && (job.steps ?? 1) > 1) throw new UsageError('--layers works with one-shot pruning', 'leave out --steps, or use --steps 1');
  const changes = job.ratio > 0 || layers > 0;
  const needTrain = ((job.recoverEpochs > 0 || job.method === 'taylor') && job.ratio > 0) || layers > 0;
  // OCR (CTC) tasks: the texts' samples, loaded once, feed Taylor, prune-layers and the CTC recovery
  const ocr = (job.steps ?? 1) === 1 && (await isOcrTask(job.task, job.data));
  const texts =
    needTrain && ocr
      ? await ocrTrainSamples(job.task, input, {
          seed: job.seed ?? 0,
          limit: job.trainSamples ?? 1000,
          preprocess: modelNormalisation(input)?.preprocess,
          data: job.data,
        })
      : undefined;
  const train =
    needTrain && !texts
      ? await loadTask(job.task, { data: job.data, split: 'train', limit: job.data ? undefined : (job.trainSamples ?? 1000), seed: job.seed ?? 0 })
      : undefined;
  const data = texts ? { x: texts.x, sampleShape: texts.sampleShape } : train ? await taskSamples(train, input, job.trainSamples ?? 1000) : undefined;
  // a token-id model trains through its float-fed view (a no-op on float inputs), and comes back reading ids
  const gradientsOf = async (m: Model) => (job.method === 'taylor' && data ? { gradients: await weightGradients(floatIdView(m), data, { threads }) } : {});
  if (job.method === 'taylor' && data) log('taylor importance: gradients of the task loss on the training samples…');
  const pruneOnce = async (m: Model, ratio: number) =>
    (await pruneStructured(m, { ratio, method: job.method, scope: job.scope, multiple: job.multiple }, await gradientsOf(m))).model;
  const first = await pruneStructured(input, { ratio: job.ratio, method: job.method, scope: job.scope, multiple: job.multiple }, await gradientsOf(input));
  const dropped = layers > 0 && data ? await dropLayers(first, input, data, layers) : [];
  if (job.ratio > 0 && layers === 0 && Number(first.record.stats.removed) === 0) {
    const why = first.record.skipped.map((s) => `${s.opType} '${s.node}': ${s.reason}`).slice(0, 5);
    throw new EdgefitError(
      `nothing in the model can be pruned at ratio ${job.ratio}${why.length ? `:\n  - ${why.join('\n  - ')}` : ' (no Conv/MatMul/Gemm layer with constant weights)'}`,
      'E_CANNOT_PRUNE',
      'a larger --ratio, or a lower --multiple, may leave room; groups that reach the model outputs are never pruned',
    );
  }
  let model = first.model;
  let recovery: PruneReport['recovery'] = null;
  if (job.recoverEpochs > 0 && changes && texts) ({ model, recovery } = await recoverWithCtc(job, first.model, texts, log));
  else if (job.recoverEpochs > 0 && changes && data) {
    const steps = job.steps ?? 1;
    log(
      `recovering: ${job.recoverEpochs} epoch(s) × ${steps} step(s) of distillation from the input on ${data.x.length / data.sampleShape.reduce((p, q) => p * q, 1)} samples…`,
    );
    const r = await pruneAndRecover(floatIdView(input), steps === 1 ? async () => floatIdView(first.model) : pruneOnce, {
      ratio: job.ratio,
      steps,
      data,
      epochs: job.recoverEpochs,
      lr: job.lr,
      seed: job.seed,
      threads,
      onEpoch: (e) => log(`  epoch ${e.epoch}: loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
    });
    model = idModel(r.model);
    recovery = {
      epochs: job.recoverEpochs,
      steps,
      samples: data.labels?.length ?? data.x.length / data.sampleShape.reduce((p, q) => p * q, 1),
      teacherRuns: r.teacher.runs,
      loss: r.history.map((h) => h.loss),
      objective: 'distillation',
    };
  }
  log('scoring and timing both (interleaved)…');
  const q1 = await scoreOn(model, held, evalN, threads);
  const t = await timeInterleaved(input, model, await timingFeeds(held, input), { threads, rounds: job.rounds, iterations: job.iterations });
  const [i0, i1] = [inspectModel(input), inspectModel(model)];
  const speedup = { p50: t.a.p50 / t.b.p50, p99: t.a.p99 / t.b.p99 };
  return {
    model,
    report: {
      schema: PRUNE_SCHEMA,
      task: held.name,
      ratio: job.ratio,
      method: job.method,
      params: { input: i0.parameters.count, output: i1.parameters.count },
      macs: { input: i0.macs.total, output: i1.macs.total, complete: i0.macs.complete && i1.macs.complete },
      latencyMs: { input: t.a, output: t.b },
      speedup,
      verdict: speedup.p50 < 1 ? 'slower' : speedup.p50 >= 1.03 ? 'faster' : 'unchanged',
      quality: { input: quality(q0), output: quality(q1) },
      recovery,
      groups: first.groups,
      layersDropped: dropped,
      skipped: first.record.skipped,
      notes: first.record.notes,
      machine: machineInfo(threads),
    },
  };
}

/** prune-layers on the channel-pruned model (in place of first.model), calibrated on the first training samples; its notes. */
async function dropLayers(first: { model: Model }, input: Model, data: RecoverData, count: number): Promise<string[]> {
  const per = data.sampleShape.reduce((p, q) => p * q, 1);
  const n = Math.min(64, data.x.length / per);
  const rows = data.x.subarray(0, n * per);
  const name = input.graph.realInputs()[0]!.name;
  const feed: Feeds[string] = readsIds(input)
    ? { type: 'int64', data: BigInt64Array.from(rows, (v) => BigInt(v)), dims: [n, ...data.sampleShape] }
    : { type: 'float32', data: rows, dims: [n, ...data.sampleShape] };
  const r = await pruneLayers(
    first.model,
    { count },
    {
      calibration: async function* () {
        yield { [name]: feed };
      },
    },
  );
  first.model = r.model;
  return r.record.notes;
}

/**
 * OCR (CTC) tasks recover on their texts with the CTC loss: per-frame distillation alone stalled on
 * PaddleOCR rec (CER 0.22 after 300 steps at 12.5%), while CTC brought a 50%-pruned rec below the source's
 * CER (bench/prune-rec.ts). An epoch is one pass over the training samples at batch 16.
 */
async function recoverWithCtc(
  job: PruneJob,
  pruned: Model,
  data: CtcSamples,
  log: (line: string) => void,
): Promise<{ model: Model; recovery: PruneReport['recovery'] }> {
  const steps = job.recoverEpochs * Math.ceil(data.labels.length / 16);
  log(`recovering: ${steps} steps of CTC on the texts of ${data.labels.length} training items (${job.recoverEpochs} epoch(s) at batch 16)…`);
  const r = await trainCtc({
    model: pruned,
    data,
    blank: data.blank,
    steps,
    lr: job.lr ?? 3e-4,
    batchSize: 16,
    seed: job.seed ?? 0,
    threads: job.threads ?? 1,
    onStep: (s) => s.step % 50 === 0 && log(`  step ${s.step}: CTC loss ${s.loss.toFixed(4)}`),
  });
  // loss: the CTC loss of a fixed probe batch before and after
  return {
    model: r.model,
    recovery: { epochs: job.recoverEpochs, steps: 1, samples: data.labels.length, teacherRuns: 0, loss: [r.lossBefore, r.lossAfter], objective: 'ctc' },
  };
}
