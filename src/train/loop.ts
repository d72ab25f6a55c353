// The training loop: epochs of shuffled batches through the training graph, the update (in TypeScript
// or in the graph), validation each epoch (loss, accuracy, per-class recall), early stopping with the
// best weights kept, checkpoints (the ONNX model with updated weights, written atomically) and resume,
// a progress line on a TTY. The same seed gives the same result.

import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { Writable } from 'node:stream';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { Tensor } from '../onnx/tensor.js';
import { writeFileAtomic, writeModel } from '../onnx/write-model.js';
import { createSession } from '../runtime/session.js';
import { datasetSize, sampleSize, type ArrayDataset } from './dataset.js';
import { classTargets, LOSS_INPUTS, type LossSpec } from './losses.js';
import { lrAt, TsOptimizer, UPDATE_INPUTS, validateOptimizer, type OptimizerConfig } from './optimizers.js';
import { Rng } from './rng.js';
import { argmax } from '../util/vector.js';
import { buildTrainingGraph, dropoutMask, type TrainableSpec, type TrainingGraph } from './training-graph.js';

export interface TrainOptions {
  model: Model;
  train: ArrayDataset;
  val?: ArrayDataset;
  /** Model input fed with the samples (default: the first real input). */
  input?: string;
  /** Model output the loss reads (default: the first output). */
  output?: string;
  epochs?: number;
  batchSize?: number;
  optimizer?: Partial<OptimizerConfig>;
  loss?: LossSpec;
  trainable?: TrainableSpec;
  batchNorm?: 'frozen' | 'batch';
  /** Dropout during training: 'train' (default; a seeded mask per step) or 'off' (identity). */
  dropout?: 'train' | 'off';
  seed?: number;
  /** Stop after this many epochs without a better validation score. */
  patience?: number;
  /** The validation score that picks the best epoch (and drives early stopping): accuracy (default) or macro-F1 (imbalanced tasks). */
  select?: 'accuracy' | 'macro-f1';
  /** Write a checkpoint here after every epoch. */
  checkpoint?: string;
  /** Continue from a checkpoint written by an earlier run. */
  resume?: string;
  /** Where the optimizer step runs (default 'ts': faster here, see bench/results/train.json → throughput). */
  update?: 'ts' | 'graph';
  threads?: number;
  /** Stop after this many steps in all (benchmarks). */
  maxSteps?: number;
  /** A TTY stream to draw the progress bar on (nothing is drawn on a non-TTY). */
  progress?: Writable & { isTTY?: boolean };
  onEpoch?: (r: EpochRecord) => void;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  valMacroF1?: number;
  lr: number;
  seconds: number;
  samplesPerSecond: number;
  /** CPU seconds of the process during the epoch's steps (robust to other processes on a shared machine). */
  cpuSeconds: number;
}

export interface TrainResult {
  model: Model;
  history: EpochRecord[];
  trained: { name: string; size: number }[];
  frozen: number;
  bestEpoch: number;
  stoppedEarly: boolean;
  steps: number;
  /** Training samples per second over the whole run (steps only, validation excluded). */
  samplesPerSecond: number;
}

interface CheckpointState {
  epoch: number;
  step: number;
  seed: number;
  bestAccuracy: number;
  bestEpoch: number;
  sinceBest: number;
  history: EpochRecord[];
  trainable: string[];
}

const META_KEY = 'edgefit.train';

/** The model with the given parameter values (and BatchNorm running stats) written back as initializers. */
export function withWeights(model: Model, values: Map<string, Float32Array>): Model {
  const m = model.clone();
  for (const [name, v] of values) {
    const old = m.graph.initializers.get(name);
    if (!old) continue;
    m.graph.initializers.set(name, Tensor.fromFloat32(name, old.dims, v));
  }
  return m;
}

export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const epochs = opts.epochs ?? 5;
  const batchSize = opts.batchSize ?? 64;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(epochs) || epochs < 1) throw new UsageError(`epochs must be a positive integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new UsageError(`batch size must be a positive integer, got ${batchSize}`);
  if (opts.patience !== undefined && !(Number.isInteger(opts.patience) && opts.patience >= 1))
    throw new UsageError(
      `patience must be a whole number of epochs ≥ 1, got ${opts.patience}`,
      'e.g. --patience 3: stop after 3 epochs without a better validation score',
    );
  const optimizer: OptimizerConfig = { kind: 'adamw', lr: 1e-3, ...opts.optimizer };
  validateOptimizer(optimizer);
  const loss: LossSpec = opts.loss ?? { kind: 'cross-entropy' };
  const classes = opts.train.classes.length;
  const n = datasetSize(opts.train);
  if (n === 0) throw new EdgefitError('the training set is empty', 'E_DATA_EMPTY', 'give the task more items');

  // Resume: weights from the checkpoint model, state from its metadata and side file.
  let base = opts.model;
  let state: CheckpointState | undefined;
  if (opts.resume) {
    if (!existsSync(opts.resume)) throw new UsageError(`no checkpoint at ${opts.resume}`, 'pass a file written with --checkpoint');
    base = readModel(opts.resume);
    const meta = base.meta(META_KEY);
    if (!meta) throw new UsageError(`${opts.resume} is not an edgefit training checkpoint (no ${META_KEY} metadata)`);
    state = parseCheckpointState(opts.resume, meta);
    checkSameModel(opts.resume, opts.model, base);
  }

  const input = opts.input ?? base.graph.realInputs()[0]?.name;
  if (!input) throw new EdgefitError('the model has no input', 'E_NO_INPUT');
  const shapeOf = (k: number) => [k, ...opts.train.sampleShape];
  const s = sampleSize(opts.train);
  const sampleX = new ort.Tensor('float32', opts.train.x.slice(0, Math.min(2, n) * s), shapeOf(Math.min(2, n)));
  const tg = await buildTrainingGraph(base, {
    loss,
    output: opts.output,
    trainable: state ? { names: state.trainable } : opts.trainable,
    batchNorm: opts.batchNorm,
    sample: { [input]: sampleX },
    optimizer: opts.update === 'graph' ? optimizer : undefined,
    dropout: opts.dropout,
  });
  const threads = opts.threads ?? 1;
  const session = await createSession(tg.model, { threads });
  // Validation runs in the training session when some weights are frozen and its forward pass is the
  // eval graph's (no batch statistics, no in-graph update to feed): frozen weights are then held by one
  // session, not two.
  const fill = validationFill(tg, loss, classes);
  const evalSession = opts.val ? (fill ? session : await createSession(evalGraph(base, tg), { threads })) : undefined;

  // Parameter values live in Float32Arrays that the sessions read directly.
  const values = new Map<string, Float32Array>();
  for (const p of tg.params) values.set(p.name, Float32Array.from(base.graph.initializers.get(p.name)!.toFloat32()));
  for (const st of tg.batchStats)
    for (const name of [st.runningMean, st.runningVar]) values.set(name, Float32Array.from(base.graph.initializers.get(name)!.toFloat32()));
  const ts = new TsOptimizer(
    optimizer,
    tg.params.map((p) => values.get(p.name)!),
    { wasm: !tg.update },
  );
  // the optimizer's parameter arrays (WebAssembly memory for AdamW) are the ones fed and updated
  tg.params.forEach((p, k) => {
    values.set(p.name, ts.params[k]!);
  });
  const graphState: Float32Array[][] = tg.update ? tg.update.slots.map((sl) => sl.state.map(() => new Float32Array(values.get(sl.param)!.length))) : [];
  if (opts.resume && existsSync(opts.resume + '.optim')) {
    const target = tg.update ? graphState : ts.state;
    const loaded = readOptimizerState(opts.resume + '.optim', target, state!.step);
    loaded.state.forEach((slots, k) => {
      for (const [j, v] of slots.entries()) target[k]?.[j]?.set(v);
    });
    ts.step = loaded.step;
  }

  const stepsPerEpoch = Math.ceil(n / batchSize);
  const totalSteps = Math.min(opts.maxSteps ?? Infinity, epochs * stepsPerEpoch);
  let step = state?.step ?? 0;
  ts.step = step;
  const history: EpochRecord[] = state?.history ?? [];
  let bestAccuracy = state?.bestAccuracy ?? -1;
  let bestEpoch = state?.bestEpoch ?? -1;
  let sinceBest = state?.sinceBest ?? 0;
  let best: Map<string, Float32Array> | undefined;
  let stoppedEarly = false;
  let trainSeconds = 0;
  let trainSamples = 0;
  // buffers for one batch; a --batch larger than the training set is one batch of all of it
  const rows = Math.min(batchSize, n);
  const batchX = new Float32Array(rows * s);
  // Dropout masks: drawn per step from (seed, step), so a resumed run draws the same ones.
  const masks = tg.dropout.map((d) => ({
    ...d,
    per: d.sampleShape.reduce((p, q) => p * q, 1),
    buf: new Float32Array(rows * d.sampleShape.reduce((p, q) => p * q, 1)),
  }));
  const batchY = new Int32Array(rows);

  for (let epoch = state ? state.epoch + 1 : 0; epoch < epochs && step < totalSteps; epoch++) {
    const order = new Rng(seed * 1000003 + epoch).permutation(n);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let lr = optimizer.lr;
    for (let first = 0; first < n && step < totalSteps; first += batchSize) {
      const k = Math.min(batchSize, n - first);
      for (let i = 0; i < k; i++) {
        const idx = order[first + i]!;
        batchX.set(opts.train.x.subarray(idx * s, (idx + 1) * s), i * s);
        batchY[i] = opts.train.labels[idx]!;
      }
      const labels = batchY.subarray(0, k);
      const { target, weight } = classTargets(labels, classes, loss.kind === 'mse' ? {} : loss);
      const feeds: Record<string, ort.Tensor> = { [input]: new ort.Tensor('float32', batchX.subarray(0, k * s), shapeOf(k)) };
      if (loss.kind !== 'mse') {
        feeds[LOSS_INPUTS.target] = new ort.Tensor('float32', target, [k, classes]);
        feeds[LOSS_INPUTS.weight] = new ort.Tensor('float32', weight, [k]);
      }
      for (const p of tg.params) feeds[p.name] = new ort.Tensor('float32', values.get(p.name)!, p.dims);
      if (masks.length) {
        const rng = new Rng((seed * 1000003 + step * 7919 + 0x5bd1e995) >>> 0);
        for (const d of masks)
          feeds[d.mask] = new ort.Tensor('float32', dropoutMask(k * d.per, d.ratio, rng, d.buf.subarray(0, k * d.per)), [k, ...d.sampleShape]);
      }
      lr = lrAt(optimizer, step, totalSteps);
      if (tg.update) {
        feeds[UPDATE_INPUTS.lr] = new ort.Tensor('float32', Float32Array.of(lr), []);
        if (optimizer.kind === 'adamw') {
          feeds[UPDATE_INPUTS.c1] = new ort.Tensor('float32', Float32Array.of(1 / (1 - Math.pow(optimizer.beta1 ?? 0.9, step + 1))), []);
          feeds[UPDATE_INPUTS.c2] = new ort.Tensor('float32', Float32Array.of(1 / (1 - Math.pow(optimizer.beta2 ?? 0.999, step + 1))), []);
        }
        tg.update.slots.forEach((sl, j) => {
          sl.state.forEach((name, q) => {
            feeds[name] = new ort.Tensor('float32', graphState[j]![q]!, tg.params[j]!.dims);
          });
        });
      }
      const out = await session.run(feeds);
      const lossValue = Number((out[tg.loss]!.data as Float32Array)[0]);
      if (!Number.isFinite(lossValue))
        throw new EdgefitError(`the loss became ${lossValue} at step ${step}`, 'E_DIVERGED', 'lower the learning rate (--lr) or add gradient clipping');
      if (tg.update) {
        tg.update.slots.forEach((sl, j) => {
          values.set(sl.param, out[sl.newParam]!.data as Float32Array);
          graphState[j] = sl.newState.map((name) => out[name]!.data as Float32Array);
        });
      } else {
        ts.update(
          tg.params.map((p) => out[p.grad]!.data as Float32Array),
          lr,
        );
      }
      for (const st of tg.batchStats) {
        const m = st.momentum;
        for (const [run, cur] of [
          [st.runningMean, st.batchMean],
          [st.runningVar, st.batchVar],
        ] as const) {
          const r = values.get(run)!;
          const c = out[cur]!.data as Float32Array;
          for (let i = 0; i < r.length; i++) r[i] = m * r[i]! + (1 - m) * c[i]!;
        }
      }
      lossSum += lossValue * k;
      seen += k;
      correct += countCorrect(out[tg.output]!.data as Float32Array, labels, classes);
      step++;
      if (opts.progress?.isTTY) drawProgress(opts.progress, epoch, epochs, seen / n, lossSum / seen, correct / seen);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    trainSeconds += seconds;
    trainSamples += seen;
    if (opts.progress?.isTTY) opts.progress.write('\r\x1b[K');
    const rec: EpochRecord = {
      epoch: epoch + 1,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      lr,
      seconds,
      samplesPerSecond: seen / seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
    if (evalSession && opts.val) {
      const v = await evaluateArrays(evalSession, input, tg.output, opts.val, {
        values,
        tg,
        fill,
        // in the training session, the forward's values stay alive for the backward nodes that this run
        // skips, so a batch larger than the training batch would grow its memory: use the same batch
        batchSize: fill ? rows : undefined,
      });
      rec.valLoss = v.loss;
      rec.valAccuracy = v.accuracy;
      rec.valMacroF1 = v.macroF1;
      const score = opts.select === 'macro-f1' ? v.macroF1 : v.accuracy;
      if (score > bestAccuracy) {
        bestAccuracy = score;
        bestEpoch = epoch + 1;
        sinceBest = 0;
        best = new Map([...values].map(([k2, v2]) => [k2, v2.slice()]));
      } else sinceBest++;
    }
    history.push(rec);
    opts.onEpoch?.(rec);
    if (opts.checkpoint) {
      const ck = withWeights(base, values);
      ck.setMeta(
        META_KEY,
        JSON.stringify({ epoch, step, seed, bestAccuracy, bestEpoch, sinceBest, history, trainable: tg.params.map((p) => p.name) } satisfies CheckpointState),
      );
      // the optimizer state first, the model last: the model's metadata names the step, and resume
      // refuses a side file of another step (a run killed between the two writes)
      writeOptimizerState(opts.checkpoint + '.optim', tg.update ? graphState : ts.state, step);
      writeModel(ck, opts.checkpoint);
    }
    if (opts.patience !== undefined && sinceBest >= opts.patience) {
      stoppedEarly = true;
      break;
    }
  }
  await session.release();
  if (evalSession !== session) await evalSession?.release();
  const final = withWeights(base, best ?? values);
  final.metadata = final.metadata.filter(([k]) => k !== META_KEY);
  return {
    model: final,
    history,
    trained: tg.params.map((p) => ({ name: p.name, size: p.dims.reduce((a, b2) => a * b2, 1) })),
    frozen: tg.frozen.length,
    bestEpoch,
    stoppedEarly,
    steps: step,
    samplesPerSecond: trainSeconds > 0 ? trainSamples / trainSeconds : 0,
  };
}

/**
 * The inputs a validation batch of k must feed to the training session though its forward pass does
 * not read them: zero targets and weights, dropout masks of ones (the identity, as at inference).
 * Undefined when the training graph's forward differs from inference (batch statistics) or needs
 * more state fed (the in-graph update), when the loss's inputs are not the class targets, or when no
 * weight is frozen: then a separate session holds nothing twice, and validates at a larger batch.
 */
export function validationFill(tg: TrainingGraph, loss: LossSpec, classes: number): ((k: number) => Record<string, ort.Tensor>) | undefined {
  const known: string[] = [LOSS_INPUTS.target, LOSS_INPUTS.weight];
  if (tg.frozen.length === 0 || tg.update || tg.batchStats.length > 0 || loss.kind === 'mse' || !tg.lossInputs.every((i) => known.includes(i)))
    return undefined;
  return (k) => {
    const feeds: Record<string, ort.Tensor> = {
      [LOSS_INPUTS.target]: new ort.Tensor('float32', new Float32Array(k * classes), [k, classes]),
      [LOSS_INPUTS.weight]: new ort.Tensor('float32', new Float32Array(k), [k]),
    };
    for (const d of tg.dropout) {
      const per = d.sampleShape.reduce((p, q) => p * q, 1);
      feeds[d.mask] = new ort.Tensor('float32', new Float32Array(k * per).fill(1), [k, ...d.sampleShape]);
    }
    return feeds;
  };
}

/** The forward model with trainable parameters (and BatchNorm running stats) as inputs. */
function evalGraph(base: Model, tg: TrainingGraph): Model {
  const m = base.clone();
  const names = [...tg.params.map((p) => p.name), ...tg.batchStats.flatMap((s) => [s.runningMean, s.runningVar])];
  for (const name of names) {
    const t = m.graph.initializers.get(name)!;
    m.graph.initializers.delete(name);
    m.graph.inputs = m.graph.inputs.filter((i) => i.name !== name);
    m.graph.inputs.push({ name, type: { kind: 'tensor', elemType: t.dataType, shape: [...t.dims] } });
  }
  m.graph.outputs = m.graph.outputs.filter((o) => o.name === tg.output);
  return m;
}

function countCorrect(logits: Float32Array, labels: ArrayLike<number>, classes: number): number {
  let c = 0;
  for (let i = 0; i < labels.length; i++) if (argmax(logits, i * classes, classes) === labels[i]) c++;
  return c;
}

export interface ArrayEval {
  loss: number;
  accuracy: number;
  recall: number[];
  /** Mean over classes of F1 (a class with no items and no predictions counts 0). */
  macroF1: number;
  confusion: number[][];
}

export interface EvalFeeds {
  /** Parameter values fed as inputs (a training or eval graph's trainable weights and BatchNorm stats). */
  values?: Map<string, Float32Array>;
  tg?: TrainingGraph;
  /** Inputs the forward pass does not read but the session requires, for a batch of k (the training graph's loss inputs and masks). */
  fill?: (k: number) => Record<string, ort.Tensor>;
  batchSize?: number;
}

/** Cross-entropy, accuracy and per-class recall of a session over a dataset. */
export async function evaluateArrays(
  session: ort.InferenceSession,
  input: string,
  output: string,
  data: ArrayDataset,
  opts: EvalFeeds = {},
): Promise<ArrayEval> {
  const { values, tg, fill } = opts;
  const batchSize = opts.batchSize ?? 256;
  const n = datasetSize(data);
  const s = sampleSize(data);
  const C = data.classes.length;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let lossSum = 0;
  const extra: Record<string, ort.Tensor> = {};
  if (values && tg) {
    for (const p of tg.params) extra[p.name] = new ort.Tensor('float32', values.get(p.name)!, p.dims);
    for (const st of tg.batchStats)
      for (const name of [st.runningMean, st.runningVar]) extra[name] = new ort.Tensor('float32', values.get(name)!, [values.get(name)!.length]);
  }
  for (let first = 0; first < n; first += batchSize) {
    const k = Math.min(batchSize, n - first);
    const x = new ort.Tensor('float32', data.x.subarray(first * s, (first + k) * s), [k, ...data.sampleShape]);
    // only the output is fetched, so ORT runs only the nodes it needs (no loss, no backward)
    const out = await session.run({ ...extra, ...fill?.(k), [input]: x }, [output]);
    const logits = out[output]!.data as Float32Array;
    const width = logits.length / k;
    for (let i = 0; i < k; i++) {
      const y = data.labels[first + i]!;
      const p = argmax(logits, i * width, width);
      if (y < C && p < C) confusion[y]![p]!++;
      let max = -Infinity;
      for (let j = 0; j < width; j++) max = Math.max(max, logits[i * width + j]!);
      let z = 0;
      for (let j = 0; j < width; j++) z += Math.exp(logits[i * width + j]! - max);
      lossSum += -(logits[i * width + y]! - max - Math.log(z));
    }
  }
  const correct = confusion.reduce((a, row, k) => a + row[k]!, 0);
  const recall = confusion.map((row, k) => {
    const t = row.reduce((a, b) => a + b, 0);
    return t ? row[k]! / t : NaN;
  });
  return { loss: lossSum / n, accuracy: correct / n, recall, macroF1: macroF1(confusion), confusion };
}

/** Macro-averaged F1 of a confusion matrix (rows: true class, columns: predicted). */
export function macroF1(confusion: number[][]): number {
  const C = confusion.length;
  let sum = 0;
  for (let k = 0; k < C; k++) {
    const tp = confusion[k]![k]!;
    const fn = confusion[k]!.reduce((a, b) => a + b, 0) - tp;
    const fp = confusion.reduce((a, row) => a + row[k]!, 0) - tp;
    sum += tp + fp + fn > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0;
  }
  return C ? sum / C : NaN;
}

function drawProgress(out: Writable, epoch: number, epochs: number, frac: number, loss: number, acc: number): void {
  const width = 24;
  const filled = Math.round(frac * width);
  out.write(
    `\r\x1b[Kepoch ${epoch + 1}/${epochs} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  loss ${loss.toFixed(4)}  acc ${(acc * 100).toFixed(1)}%`,
  );
}

// Optimizer state beside a checkpoint: a JSON header line, then the float32 arrays back to back.
function writeOptimizerState(path: string, state: Float32Array[][], step: number): void {
  const lengths = state.map((slots) => slots.map((v) => v.length));
  const header = Buffer.from(JSON.stringify({ step, lengths }) + '\n');
  const total = lengths.flat().reduce((a, b) => a + b, 0);
  const bytes = new Uint8Array(header.length + total * 4);
  bytes.set(header, 0);
  let at = header.length;
  for (const slots of state)
    for (const v of slots) {
      bytes.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
      at += v.byteLength;
    }
  writeFileAtomic(path, bytes);
}

/** A checkpoint's training state, checked field by field: a damaged one is an error, not a crash. */
function parseCheckpointState(path: string, meta: string): CheckpointState {
  let v: Partial<CheckpointState>;
  try {
    v = JSON.parse(meta) as Partial<CheckpointState>;
  } catch (e) {
    throw new EdgefitError(
      `${path}: the training state in its ${META_KEY} metadata is not valid JSON (${(e as Error).message})`,
      'E_CHECKPOINT',
      'the checkpoint is damaged; start again without --resume',
    );
  }
  const int = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= -1;
  if (
    typeof v !== 'object' ||
    v === null ||
    !int(v.epoch) ||
    !int(v.step) ||
    !int(v.bestEpoch) ||
    !int(v.sinceBest) ||
    typeof v.bestAccuracy !== 'number' ||
    !Array.isArray(v.history)
  )
    throw new EdgefitError(
      `${path}: the training state in its ${META_KEY} metadata is incomplete`,
      'E_CHECKPOINT',
      'the checkpoint is damaged or from another tool; start again without --resume',
    );
  return v as CheckpointState;
}

/** Resuming must continue the same model: every weight of the model to train, same name and shape. */
function checkSameModel(path: string, model: Model, checkpoint: Model): void {
  for (const [name, t] of model.graph.initializers) {
    const c = checkpoint.graph.initializers.get(name);
    if (!c || c.dims.join() !== t.dims.join())
      throw new UsageError(
        `${path} is a checkpoint of another model: weight '${name}' is ${c ? `[${c.dims.join(', ')}]` : 'missing'} there, [${t.dims.join(', ')}] in the model to train`,
        'resume with the same --arch (or model) the checkpoint was written with, or start without --resume',
      );
  }
}

function readOptimizerState(path: string, expected: Float32Array[][], step: number): { step: number; state: Float32Array[][] } {
  const damaged = (why: string) =>
    new EdgefitError(
      `${path}: ${why}`,
      'E_CHECKPOINT',
      `the optimizer state beside the checkpoint is damaged; delete ${path} to resume with fresh optimizer state, or start without --resume`,
    );
  const bytes = readFileSync(path);
  const nl = bytes.indexOf(10);
  if (nl < 0) throw damaged('no header line');
  let header: { step?: unknown; lengths?: unknown };
  try {
    header = JSON.parse(bytes.subarray(0, nl).toString('utf8')) as typeof header;
  } catch {
    throw damaged('the header is not valid JSON');
  }
  const { step: savedStep, lengths } = header as { step: number; lengths: number[][] };
  if (typeof savedStep !== 'number' || !Array.isArray(lengths) || !lengths.every((l) => Array.isArray(l) && l.every((x) => Number.isInteger(x) && x >= 0)))
    throw damaged('the header is incomplete');
  if (savedStep !== step)
    throw damaged(`it holds step ${savedStep}, the checkpoint step ${step} (written by another run, or the run was stopped between the two files)`);
  if (lengths.length !== expected.length || lengths.some((l, k) => l.length !== expected[k]!.length || l.some((len, j) => len !== expected[k]![j]!.length)))
    throw damaged('its arrays do not match the parameters being trained (another optimizer or model)');
  const total = lengths.flat().reduce((a, b) => a + b, 0);
  if (bytes.length !== nl + 1 + total * 4) throw damaged(`${bytes.length - nl - 1} bytes of data, ${total * 4} expected (truncated?)`);
  let at = nl + 1;
  const state = lengths.map((slots) =>
    slots.map((len) => {
      const v = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + len * 4));
      at += len * 4;
      return v;
    }),
  );
  return { step: savedStep, state };
}
