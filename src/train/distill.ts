// Knowledge distillation into a student model: KL on the teacher's soft outputs at temperature T (per
// row: a sequence model's frames are rows), plus the task loss where labels exist, plus optional
// hidden-state matching on named tensors through a learned projection when widths differ. The teacher
// runs once over the data and its outputs are cached (or per step, to measure what the cache saves).

import * as ort from 'onnxruntime-node';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { Tensor } from '../onnx/tensor.js';
import { createSession } from '../runtime/session.js';
import { datasetSize, sampleSize, type ArrayDataset } from './dataset.js';
import { appendKlDivergence, appendRowMse, appendWeightedCrossEntropy } from './losses.js';
import { evaluateArrays, withWeights } from './loop.js';
import { buildObjectiveGraph } from './objective-graph.js';
import { lrAt, TsOptimizer, type OptimizerConfig } from './optimizers.js';
import { Rng } from './rng.js';
import { candidateParams } from './training-graph.js';
import { exposeLogits } from './logits.js';

export interface HiddenMatch {
  /** Student tensor [batch, …, Ds] and teacher tensor [batch, …, Dt]; matched row by row on the last dim. */
  student: string;
  teacher: string;
  weight?: number;
}

export interface DistillOptions {
  teacher: Model;
  student: Model;
  /** Training samples; a label < 0 marks an unlabelled sample (KL only). */
  train: ArrayDataset;
  val?: ArrayDataset;
  temperature?: number;
  /** Weight of the KL term; the task loss gets 1 − alpha (default 0.5 with labels, 1 without). */
  alpha?: number;
  hidden?: HiddenMatch[];
  epochs?: number;
  batchSize?: number;
  maxSteps?: number;
  optimizer?: Partial<OptimizerConfig>;
  seed?: number;
  /** Parameters that train (default: every float weight of the student). */
  trainable?: string[];
  /** Run the teacher once and keep its outputs (default), or on every step. */
  cacheTeacher?: boolean;
  threads?: number;
  /** Stop stepping at this time (performance.now() milliseconds): a run with a time limit. */
  deadline?: number;
  onEpoch?: (r: DistillEpoch) => void;
}

export interface DistillEpoch {
  epoch: number;
  loss: number;
  valAccuracy?: number;
  seconds: number;
}

export interface DistillResult {
  model: Model;
  history: DistillEpoch[];
  steps: number;
  /** Training steps per second (teacher caching included in the time when on). */
  stepsPerSecond: number;
  teacherSeconds: number;
  trainableParams: number;
  bestEpoch: number;
  /** Where validation ran: in the training session (some weights frozen, as with LoRA: they are held once) or in a session of its own per epoch. */
  validatedIn?: 'training-session' | 'own-session';
}

const KD = { teacher: 'kd.teacher_logits', target: 'kd.target', weight: 'kd.row_weight' } as const;

interface Outs {
  width: number;
  rows: number;
}

async function probeOutputs(model: Model, names: string[], x: ort.Tensor): Promise<Outs[]> {
  const m = model.clone();
  m.graph.outputs = names.map((name) => ({ name }));
  m.graph.valueInfo.clear();
  const s = await createSession(m);
  try {
    const r = await s.run({ [s.inputNames[0]!]: x });
    return names.map((n) => {
      const d = r[n]!.dims;
      const width = d[d.length - 1]!;
      return { width, rows: r[n]!.data.length / width / d[0]! };
    });
  } finally {
    await s.release();
  }
}

/** Runs the teacher over rows [first, first+k) of the data: its logits and hidden tensors, flattened per sample. */
class TeacherOutputs {
  private cache?: Float32Array[];
  constructor(
    private readonly session: ort.InferenceSession,
    private readonly names: string[],
    private readonly per: number[],
    private readonly data: ArrayDataset,
  ) {}
  static async open(teacher: Model, names: string[], per: number[], data: ArrayDataset, threads: number): Promise<TeacherOutputs> {
    const m = teacher.clone();
    m.graph.outputs = names.map((name) => ({ name }));
    m.graph.valueInfo.clear();
    return new TeacherOutputs(await createSession(m, { threads }), names, per, data);
  }
  async fill(): Promise<void> {
    const n = datasetSize(this.data);
    const all = this.per.map((p) => new Float32Array(n * p));
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    for (let first = 0; first < n; first += 64) {
      const got = await this.run(idx.subarray(first, Math.min(n, first + 64)));
      for (const [k, v] of got.entries()) all[k]!.set(v, first * this.per[k]!);
    }
    this.cache = all;
  }
  /** The outputs for the given sample indices, concatenated. */
  async run(indices: ArrayLike<number>): Promise<Float32Array[]> {
    const k = indices.length;
    if (this.cache) return this.per.map((p, j) => gather(this.cache![j]!, indices, p));
    const s = sampleSize(this.data);
    const x = gather(this.data.x, indices, s);
    const r = await this.session.run({ [this.session.inputNames[0]!]: new ort.Tensor('float32', x, [k, ...this.data.sampleShape]) });
    return this.names.map((name) => r[name]!.data as Float32Array);
  }
  release(): Promise<void> {
    return this.session.release();
  }
}

function gather(src: Float32Array, indices: ArrayLike<number>, per: number): Float32Array {
  const out = new Float32Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) out.set(src.subarray(indices[i]! * per, (indices[i]! + 1) * per), i * per);
  return out;
}

export async function distill(opts: DistillOptions): Promise<DistillResult> {
  const T = opts.temperature ?? 4;
  const n = datasetSize(opts.train);
  if (n === 0) throw new EdgefitError('the training set is empty', 'E_DATA_EMPTY', 'give the task more items');
  const labelled = Array.from(opts.train.labels).some((y) => y >= 0);
  const alpha = opts.alpha ?? (labelled ? 0.5 : 1);
  if (!(alpha >= 0 && alpha <= 1)) throw new UsageError(`alpha must be in [0, 1], got ${alpha}`, 'the weight of the KL term; the task loss gets 1 − alpha');
  const batchSize = opts.batchSize ?? 64;
  const epochs = opts.epochs ?? 5;
  const threads = opts.threads ?? 1;
  const hidden = opts.hidden ?? [];
  const teacher = exposeLogits(opts.teacher);
  const student = exposeLogits(opts.student);
  const s = sampleSize(opts.train);
  const x2 = new ort.Tensor('float32', opts.train.x.slice(0, Math.min(2, n) * s), [Math.min(2, n), ...opts.train.sampleShape]);
  const tNames = [teacher.logits, ...hidden.map((h) => h.teacher)];
  const sNames = [student.logits, ...hidden.map((h) => h.student)];
  for (const [m, names, who] of [
    [teacher.model, tNames, 'teacher'],
    [student.model, sNames, 'student'],
  ] as const)
    for (const name of names)
      if (!m.graph.nodes.some((nd) => nd.outputs.includes(name)))
        throw new UsageError(`the ${who} has no tensor named '${name}'`, '`edgefit inspect` lists tensor names');
  const tOut = await probeOutputs(teacher.model, tNames, x2);
  const sOut = await probeOutputs(student.model, sNames, x2);
  const [t0, s0] = [tOut[0]!, sOut[0]!];
  if (t0.width !== s0.width || t0.rows !== s0.rows)
    throw new UsageError(
      `the teacher's outputs (${t0.rows} row(s) of ${t0.width} per sample) do not match the student's (${s0.rows} row(s) of ${s0.width})`,
      'distil into a student with the same output: the same classes (and frames, for a sequence model)',
    );
  const C = t0.width;
  const rows = t0.rows;
  if (labelled && rows !== 1 && alpha < 1)
    throw new UsageError('the task loss on labels is for classifiers (one row per sample)', 'distil a sequence model on the teacher alone: --alpha 1');

  // Learned projections for hidden states whose widths differ: part of the objective only.
  const withProj = student.model.clone();
  const projections: string[] = [];
  const rng = new Rng(opts.seed ?? 0);
  hidden.forEach((h, k) => {
    const [ds, dt] = [sOut[k + 1]!.width, tOut[k + 1]!.width];
    if (sOut[k + 1]!.rows !== tOut[k + 1]!.rows)
      throw new UsageError(`hidden tensors '${h.student}' and '${h.teacher}' have different numbers of rows per sample`, 'match tensors of the same length');
    if (ds === dt) return;
    const name = `kd.proj.${k}`;
    withProj.graph.initializers.set(
      name,
      Tensor.fromFloat32(
        name,
        [ds, dt],
        Float32Array.from({ length: ds * dt }, () => rng.normal() / Math.sqrt(ds)),
      ),
    );
    projections.push(name);
  });
  const trainable = [...(opts.trainable ?? candidateParams(student.model)), ...projections];
  // With frozen weights (LoRA), validation runs in the training session, which holds them already.
  const sharedVal = opts.trainable !== undefined && opts.val !== undefined && rows === 1;
  let lossFeeds: { feeds: Record<string, ort.Tensor>; batch: number } | undefined;

  const tg = await buildObjectiveGraph(withProj, {
    sample: { [student.input]: x2 },
    trainable,
    appendLoss: (b) => {
      const k2 = x2.dims[0]!;
      const feeds: Record<string, ort.Tensor> = { [KD.teacher]: new ort.Tensor('float32', new Float32Array(k2 * rows * C), [k2 * rows, C]) };
      b.input(KD.teacher, 1, ['rows', C]);
      let loss = b.op('Mul', [appendKlDivergence(b, student.logits, KD.teacher, C, T), b.scalar('kd/alpha', alpha)]);
      if (labelled && alpha < 1) {
        b.input(KD.target, 1, ['rows', C]);
        b.input(KD.weight, 1, ['rows']);
        feeds[KD.target] = new ort.Tensor('float32', new Float32Array(k2 * C), [k2, C]);
        feeds[KD.weight] = new ort.Tensor('float32', new Float32Array(k2), [k2]);
        const ce = appendWeightedCrossEntropy(b, student.logits, KD.target, KD.weight, C);
        loss = b.op('Add', [loss, b.op('Mul', [ce, b.scalar('kd/1-alpha', 1 - alpha)])]);
      }
      hidden.forEach((h, k) => {
        const dt = tOut[k + 1]!.width;
        const input = `kd.hidden.${k}`;
        b.input(input, 1, ['rows', dt]);
        feeds[input] = new ort.Tensor('float32', new Float32Array(k2 * tOut[k + 1]!.rows * dt), [k2 * tOut[k + 1]!.rows, dt]);
        const ds = sOut[k + 1]!.width;
        let v = b.op('Reshape', [h.student, b.int64s(`kd/hidden_rows${k}`, [-1, ds])]);
        if (ds !== dt) v = b.op('MatMul', [v, `kd.proj.${k}`]);
        loss = b.op('Add', [loss, b.op('Mul', [appendRowMse(b, v, input, dt), b.scalar(`kd/hidden_w${k}`, h.weight ?? 1)])]);
      });
      lossFeeds = { feeds, batch: k2 };
      return { loss: b.op('Identity', [loss], {}, { outputs: ['kd.loss'] }), feeds, outputs: sharedVal ? [student.logits] : [] };
    },
  });

  const tStart = performance.now();
  const teacherRun = await TeacherOutputs.open(
    teacher.model,
    tNames,
    tOut.map((o) => o.rows * o.width),
    opts.train,
    threads,
  );
  if (opts.cacheTeacher !== false) await teacherRun.fill();
  const teacherSeconds = (performance.now() - tStart) / 1000;

  const session = await createSession(tg.model, { threads });
  const optimizer: OptimizerConfig = { kind: 'adamw', lr: 1e-3, ...opts.optimizer };
  const base = withProj;
  const ts = new TsOptimizer(
    optimizer,
    tg.params.map((p) => Float32Array.from(base.graph.initializers.get(p.name)!.toFloat32())),
  );
  const values = new Map(tg.params.map((p, k) => [p.name, ts.params[k]!]));
  const totalSteps = Math.min(opts.maxSteps ?? Infinity, epochs * Math.ceil(n / batchSize));
  const history: DistillEpoch[] = [];
  let step = 0;
  let stepSeconds = 0;
  let best: { acc: number; epoch: number; values: Map<string, Float32Array> } | undefined;
  for (let epoch = 0; epoch < epochs && step < totalSteps && !(performance.now() > (opts.deadline ?? Infinity)); epoch++) {
    const order = new Rng((opts.seed ?? 0) * 1000003 + epoch).permutation(n);
    const e0 = performance.now();
    let lossSum = 0;
    let batches = 0;
    for (let first = 0; first < n && step < totalSteps && !(performance.now() > (opts.deadline ?? Infinity)); first += batchSize) {
      const idx = order.subarray(first, Math.min(n, first + batchSize));
      const k = idx.length;
      const feeds: Record<string, ort.Tensor> = {
        [student.input]: new ort.Tensor('float32', gather(opts.train.x, idx, s), [k, ...opts.train.sampleShape]),
      };
      const tv = await teacherRun.run(idx);
      feeds[KD.teacher] = new ort.Tensor('float32', tv[0]!, [k * rows, C]);
      hidden.forEach((_, j) => {
        const o = tOut[j + 1]!;
        feeds[`kd.hidden.${j}`] = new ort.Tensor('float32', tv[j + 1]!, [k * o.rows, o.width]);
      });
      if (labelled && alpha < 1) {
        const target = new Float32Array(k * C);
        const weight = new Float32Array(k);
        let count = 0;
        for (let i = 0; i < k; i++) {
          const y = opts.train.labels[idx[i]!]!;
          if (y < 0) continue;
          target[i * C + y] = 1;
          weight[i] = 1;
          count++;
        }
        if (count) for (let i = 0; i < k; i++) weight[i] = weight[i]! / count;
        feeds[KD.target] = new ort.Tensor('float32', target, [k, C]);
        feeds[KD.weight] = new ort.Tensor('float32', weight, [k]);
      }
      for (const p of tg.params) feeds[p.name] = new ort.Tensor('float32', values.get(p.name)!, p.dims);
      const out = await session.run(feeds);
      const lossValue = (out[tg.loss]!.data as Float32Array)[0]!;
      if (!Number.isFinite(lossValue))
        throw new EdgefitError(`the distillation loss became ${lossValue} at step ${step}`, 'E_DIVERGED', 'lower the learning rate (--lr)');
      ts.update(
        tg.params.map((p) => out[p.grad]!.data as Float32Array),
        lrAt(optimizer, step, totalSteps),
      );
      lossSum += lossValue;
      batches++;
      step++;
    }
    const seconds = (performance.now() - e0) / 1000;
    stepSeconds += seconds;
    const rec: DistillEpoch = { epoch: epoch + 1, loss: lossSum / Math.max(1, batches), seconds };
    if (opts.val && rows === 1) {
      rec.valAccuracy = sharedVal
        ? (await evaluateArrays(session, student.input, student.logits, opts.val, { fill: validationFeeds(lossFeeds!, tg, values), batchSize })).accuracy
        : await accuracyOf(withWeights(student.model, values), student.input, student.logits, opts.val, threads);
      if (!best || rec.valAccuracy > best.acc) best = { acc: rec.valAccuracy, epoch: epoch + 1, values: new Map([...values].map(([a, v]) => [a, v.slice()])) };
    }
    history.push(rec);
    opts.onEpoch?.(rec);
  }
  await session.release();
  await teacherRun.release();
  const model = withWeights(opts.student, best?.values ?? values);
  return {
    model,
    history,
    steps: step,
    stepsPerSecond: step / Math.max(1e-9, stepSeconds + (opts.cacheTeacher !== false ? teacherSeconds : 0)),
    teacherSeconds,
    trainableParams: tg.params.filter((p) => !projections.includes(p.name)).reduce((a, p) => a + p.dims.reduce((x, y) => x * y, 1), 0),
    bestEpoch: best?.epoch ?? history.length,
    ...(opts.val && rows === 1 ? { validatedIn: sharedVal ? ('training-session' as const) : ('own-session' as const) } : {}),
  };
}

/**
 * Feeds that let the training session compute the student's logits alone for a batch of k: the current
 * weights, and zeros for every input of the loss (the teacher's outputs, targets, hidden states), which
 * fetching the logits alone does not read.
 */
function validationFeeds(
  loss: { feeds: Record<string, ort.Tensor>; batch: number },
  tg: { params: { name: string; dims: number[] }[] },
  values: Map<string, Float32Array>,
): (k: number) => Record<string, ort.Tensor> {
  return (k) => {
    const out: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(loss.feeds)) {
      const dims = [(t.dims[0]! / loss.batch) * k, ...t.dims.slice(1)];
      out[name] = new ort.Tensor('float32', new Float32Array(dims.reduce((a, d) => a * d, 1)), dims);
    }
    for (const p of tg.params) out[p.name] = new ort.Tensor('float32', values.get(p.name)!, p.dims);
    return out;
  };
}

/** Top-1 accuracy of a classifier over a dataset. */
export async function accuracyOf(model: Model, input: string, output: string, data: ArrayDataset, threads = 1): Promise<number> {
  const m = model.clone();
  m.graph.outputs = [{ name: output }];
  m.graph.valueInfo.clear();
  const session = await createSession(m, { threads });
  try {
    return (await evaluateArrays(session, input, output, data)).accuracy;
  } finally {
    await session.release();
  }
}
