// Runs a model over a task and scores it: decodes outputs per the spec, computes every metric that the
// task's labels allow (with confidence intervals), and keeps per-item scores so two candidates can be
// compared item by item (compareCandidates).

import type * as ort from 'onnxruntime-node';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import { loadCtcAlphabet } from '../data/dictionary.js';
import type { Task } from '../data/task.js';
import type { SkippedItem } from '../data/errors.js';
import type { TaskSpec } from '../data/spec.js';
import { fitTaskToModel } from '../data/fit-task.js';
import { sessionIO } from '../data/infer-spec.js';
import { classProbabilities, ctcGreedy } from './decode.js';
import { argmax } from '../util/vector.js';
import {
  accuracy,
  macroF1,
  confusionMatrix,
  perClass,
  expectedCalibrationError,
  characterErrorRate,
  exactMatch,
  cosine,
  top1Agreement,
  mean,
  proportion,
  type MetricValue,
  type ClassStats,
} from './metrics.js';

export { compareCandidates } from './metrics.js';

export interface EvalOptions {
  /** Evaluate at most this many items. */
  limit?: number;
  batchSize?: number;
  /** A reference model (e.g. the fp32 original): adds top-1 agreement / cosine metrics; the only metrics for unlabelled data. */
  reference?: ort.InferenceSession;
  /** Called after each batch with the items done so far. */
  onProgress?: (done: number) => void;
  /** Seed of the bootstrap intervals. */
  seed?: number;
  /** Keep up to this many wrong predictions as examples (default 10). */
  examples?: number;
  /** Inputs the task does not feed (a fixed --value, zero recurrent state), added to every batch. */
  extraFeeds?: Record<string, ort.Tensor>;
}

export interface EvalResult {
  task: string;
  primary: { name: string; value: number; ci: [number, number]; higherIsBetter: boolean };
  metrics: Record<string, MetricValue>;
  /** Items evaluated. */
  n: number;
  /** Per-item score behind the primary metric, in item order (1/0 correctness, per-item CER, cosine …). */
  perItem: number[];
  /** Per-item weights for perItem (reference lengths for CER), for compareCandidates; absent = equal. */
  weights?: number[];
  ids: string[];
  perClass?: Record<string, ClassStats>;
  confusion?: { classes: string[]; matrix: number[][] };
  examples: { id: string; expected: string; got: string }[];
  skipped: SkippedItem[];
  notes: string[];
}

/** Fits the task to the model: input name and image layout (see fitTaskToModel). */
export function adaptTask(session: ort.InferenceSession, task: Task, notes: string[] = []): { task: Task; input: string } {
  return fitTaskToModel(task, sessionIO(session), notes);
}

function outputName(s: ort.InferenceSession, spec: TaskSpec): string {
  const name = spec.output.name ?? s.outputNames[0]!;
  if (!s.outputNames.includes(name))
    throw new EdgefitError(
      `the model has no output '${name}'; its outputs are ${s.outputNames.join(', ')}`,
      'E_TASK_MODEL',
      'set output.name in the task spec',
    );
  return name;
}

/** session.run, with ORT's refusal of a batch (shape, type) turned into an error that names the items. */
async function runModel(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  ids: string[],
  who = 'the model',
): Promise<ort.InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds);
  } catch (e) {
    const shapes = Object.entries(feeds)
      .map(([k, t]) => `${k} ${t.type}[${t.dims.join(', ')}]`)
      .join(', ');
    throw new EdgefitError(
      `${who} rejected the batch of ${ids[0]}${ids.length > 1 ? ` … ${ids[ids.length - 1]}` : ''} (${shapes}): ${(e as Error).message.split('\n').join(' ').trim()}`,
      'E_TASK_MODEL',
      "make the task's preprocessing give what the model takes (edgefit inspect shows its inputs)",
    );
  }
}

export async function evaluate(session: ort.InferenceSession, task0: Task, opts: EvalOptions = {}): Promise<EvalResult> {
  const notes: string[] = [];
  const { task, input } = adaptTask(session, task0, notes);
  const spec = task.spec;
  const out = outputName(session, spec);
  const refOut = opts.reference ? outputName(opts.reference, spec) : undefined;
  const limit = opts.limit ?? Infinity;
  const bs = opts.batchSize ?? 8;
  if (!(Number.isInteger(bs) && bs >= 1)) throw new UsageError(`batch size must be a whole number ≥ 1, got ${bs}`, 'e.g. --batch-size 8');
  const seed = opts.seed ?? 0;
  const bopts = { seed };
  const alphabet = spec.output.decode === 'ctc' ? loadCtcAlphabet(spec.output.dictionary, spec.output.blank, spec.output.appendSpace, task.baseDir) : [];

  const ids: string[] = [];
  const labels: (number | string | null)[] = [];
  const preds: number[] = [];
  const conf: number[] = [];
  const texts: string[] = [];
  const refPreds: number[] = [];
  const cosines: number[] = [];
  let widthChecked = false;

  for await (const batch of task.batches({ batchSize: bs, input })) {
    let b = batch;
    if (ids.length + b.ids.length > limit) {
      const keep = limit - ids.length;
      if (keep <= 0) break;
      b = { ...b, ids: b.ids.slice(0, keep), labels: b.labels.slice(0, keep) };
      for (const [k, t] of Object.entries(b.feeds)) b.feeds[k] = sliceBatch(t, keep);
    }
    const n = b.ids.length;
    if (opts.extraFeeds) b = { ...b, feeds: { ...opts.extraFeeds, ...b.feeds } };
    const res = await runModel(session, b.feeds, b.ids);
    const t = res[out]!;
    const data = t.data as Float32Array;
    if (!(data instanceof Float32Array)) throw new EdgefitError(`output '${out}' is ${t.type}; evaluation needs float32 scores`, 'E_TASK_MODEL');
    let refData: Float32Array | undefined;
    if (opts.reference) refData = (await runModel(opts.reference, b.feeds, b.ids, 'the reference model'))[refOut!]!.data as Float32Array;

    if (spec.output.decode === 'classes') {
      const probs = classProbabilities(data, n, spec.output.activation);
      if (!widthChecked && probs[0] && probs[0].length !== task.classes.length) {
        throw new EdgefitError(
          `the model's output '${out}' has ${probs[0].length} scores per item but the task has ${task.classes.length} classes (${task.classes.join(', ')})`,
          'E_TASK_MODEL',
          'check output.classes in the task spec, or the model',
        );
      }
      widthChecked = true;
      for (const p of probs) {
        const k = argmax(p);
        preds.push(k);
        conf.push(p[k]!);
      }
      if (refData) for (const p of classProbabilities(refData, n, spec.output.activation)) refPreds.push(argmax(p));
    } else if (spec.output.decode === 'ctc') {
      const c = t.dims[2];
      if (!widthChecked && c !== alphabet.length)
        throw new EdgefitError(
          `the model's output '${out}' has ${c} classes per step; the dictionary gives ${alphabet.length} (blank + ${alphabet.length - 1 - (spec.output.appendSpace ? 1 : 0)} characters${spec.output.appendSpace ? ' + space' : ''})`,
          'E_TASK_MODEL',
          'check output.dictionary and output.appendSpace',
        );
      widthChecked = true;
      for (const d of ctcGreedy(data, t.dims, alphabet, spec.output.blank)) {
        texts.push(d.text);
        conf.push(d.confidence);
      }
      if (refData) {
        const rt = ctcGreedy(refData, t.dims, alphabet, spec.output.blank);
        for (let i = 0; i < n; i++) refPreds.push(rt[i]!.text === texts[texts.length - n + i] ? 1 : 0);
      }
    } else {
      const per = data.length / n;
      if (!refData) throw new EdgefitError('an embedding task is scored against a reference model', 'E_TASK_MODEL', 'pass a reference model (--reference)');
      for (let i = 0; i < n; i++) cosines.push(cosine(data.subarray(i * per, (i + 1) * per), refData.subarray(i * per, (i + 1) * per)));
    }
    ids.push(...b.ids);
    labels.push(...b.labels);
    opts.onProgress?.(ids.length);
    if (ids.length >= limit) break;
  }
  if (ids.length === 0)
    throw new EdgefitError(
      `no item of task '${task.name}' could be evaluated`,
      'E_DATA',
      task.skipped.length
        ? `all ${task.skipped.length} items were skipped as bad; the first: ${task.skipped[0]!.id}: ${task.skipped[0]!.reason}`
        : 'check the data',
    );

  const metrics: Record<string, MetricValue> = {};
  const result: EvalResult = {
    task: task.name,
    primary: { name: spec.metric, value: NaN, ci: [NaN, NaN], higherIsBetter: true },
    metrics,
    n: ids.length,
    perItem: [],
    ids,
    examples: [],
    skipped: task.skipped,
    notes,
  };
  const maxExamples = opts.examples ?? 10;
  const labelled = labels.every((l) => l !== null);
  if (!labelled && labels.some((l) => l !== null))
    notes.push(`${labels.filter((l) => l === null).length} of ${labels.length} items have no label; label metrics use the labelled ones only`);

  if (spec.output.decode === 'classes') {
    const li = labels.map((l, i) => (typeof l === 'number' ? i : -1)).filter((i) => i >= 0);
    if (li.length) {
      const p = li.map((i) => preds[i]!);
      const y = li.map((i) => labels[i] as number);
      const K = task.classes.length;
      metrics.accuracy = accuracy(p, y);
      metrics['macro-f1'] = macroF1(p, y, K, bopts);
      metrics.ece = expectedCalibrationError(
        li.map((i) => conf[i]!),
        li.map((i) => preds[i] === labels[i]),
        15,
        bopts,
      );
      const m = confusionMatrix(p, y, K);
      result.confusion = { classes: task.classes, matrix: m };
      result.perClass = Object.fromEntries(perClass(m).map((s, c) => [task.classes[c]!, s]));
      for (const [name, s] of Object.entries(result.perClass)) {
        metrics[`recall:${name}`] = s.recall;
        metrics[`precision:${name}`] = s.precision;
      }
      const correct = li.map((i) => (preds[i] === labels[i] ? 1 : 0));
      for (const i of li)
        if (preds[i] !== labels[i] && result.examples.length < maxExamples)
          result.examples.push({ id: ids[i]!, expected: task.classes[labels[i] as number]!, got: task.classes[preds[i]!]! });
      if (spec.metric === 'recall') {
        const c = task.classes.indexOf(spec.metricClass!);
        const members = li.filter((i) => labels[i] === c);
        result.primary = { name: `recall:${spec.metricClass}`, ...metrics[`recall:${spec.metricClass}`]!, higherIsBetter: true };
        result.perItem = members.map((i) => (preds[i] === c ? 1 : 0));
        result.ids = members.map((i) => ids[i]!);
      } else if (spec.metric === 'ece') {
        result.primary = { name: 'ece', ...metrics.ece, higherIsBetter: false };
        result.perItem = correct;
      } else {
        const name = spec.metric === 'macro-f1' ? 'macro-f1' : 'accuracy';
        result.primary = { name, ...metrics[name]!, higherIsBetter: true };
        result.perItem = correct;
        if (li.length !== ids.length) result.ids = li.map((i) => ids[i]!);
      }
    }
    if (refPreds.length) {
      metrics['top1-agreement'] = top1Agreement(preds, refPreds);
      if (!li.length || spec.metric === 'top1-agreement') {
        result.primary = { name: 'top1-agreement', ...metrics['top1-agreement'], higherIsBetter: true };
        result.perItem = preds.map((p, i) => (p === refPreds[i] ? 1 : 0));
        result.ids = ids;
      }
    }
  } else if (spec.output.decode === 'ctc') {
    const li = labels.map((l, i) => (typeof l === 'string' ? i : -1)).filter((i) => i >= 0);
    if (li.length) {
      const p = li.map((i) => texts[i]!);
      const r = li.map((i) => labels[i] as string);
      const cer = characterErrorRate(p, r, false, bopts);
      const cerNoWs = characterErrorRate(p, r, true, bopts);
      const em = exactMatch(p, r, false);
      const emNoWs = exactMatch(p, r, true);
      metrics.cer = { value: cer.value, ci: cer.ci };
      metrics['cer-ignore-ws'] = { value: cerNoWs.value, ci: cerNoWs.ci };
      metrics['exact-match'] = { value: em.value, ci: em.ci };
      metrics['exact-match-ignore-ws'] = { value: emNoWs.value, ci: emNoWs.ci };
      metrics['mean-confidence'] = mean(
        li.map((i) => conf[i]!),
        bopts,
      );
      for (const i of li)
        if (texts[i] !== labels[i] && result.examples.length < maxExamples)
          result.examples.push({ id: ids[i]!, expected: labels[i] as string, got: texts[i]! });
      const ws = spec.ignoreWhitespace ?? false;
      if (spec.metric === 'exact-match') {
        const e = ws ? emNoWs : em;
        result.primary = { name: ws ? 'exact-match-ignore-ws' : 'exact-match', value: e.value, ci: e.ci, higherIsBetter: true };
        result.perItem = e.hits;
      } else {
        const c = ws ? cerNoWs : cer;
        result.primary = { name: ws ? 'cer-ignore-ws' : 'cer', value: c.value, ci: c.ci, higherIsBetter: false };
        result.perItem = c.edits.map((e, i) => e / c.lengths[i]!);
        result.weights = c.lengths;
      }
      if (li.length !== ids.length) result.ids = li.map((i) => ids[i]!);
    }
    if (refPreds.length) {
      const agree = refPreds.reduce((a, b) => a + b, 0);
      metrics['text-agreement'] = proportion(agree, refPreds.length);
      if (!li.length) {
        result.primary = { name: 'text-agreement', ...metrics['text-agreement'], higherIsBetter: true };
        result.perItem = refPreds;
      }
    }
  } else {
    metrics.cosine = mean(cosines, bopts);
    result.primary = { name: 'cosine', ...metrics.cosine, higherIsBetter: true };
    result.perItem = cosines;
  }
  if (Number.isNaN(result.primary.value))
    throw new EdgefitError(
      `task '${task.name}' has no labels to score metric '${spec.metric}'`,
      'E_DATA',
      'label the data, or pass a reference model to measure agreement with it',
    );
  return result;
}

function sliceBatch(t: ort.Tensor, keep: number): ort.Tensor {
  const per = t.size / t.dims[0]!;
  const Ctor = t.constructor as new (type: ort.Tensor.Type, data: ort.Tensor.DataType, dims: readonly number[]) => ort.Tensor;
  return new Ctor(t.type, (t.data as Float32Array).slice(0, keep * per), [keep, ...t.dims.slice(1)]);
}
