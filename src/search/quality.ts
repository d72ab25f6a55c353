// One candidate's quality: the task's metric from the eval module (src/eval) when there is a task, else
// agreement with the source model on the same feeds (held-out user data, or random inputs as a last
// resort), by a metric chosen per output (src/eval/agreement.ts). qualityIsolated runs it in a child process
// (quality-worker) so that a crash or a memory blow-up stays there.

import type * as ort from 'onnxruntime-node';
import { createSession, type OptLevel } from '../runtime/session.js';
import { declaredInputs, synthesizeFeeds } from '../runtime/inputs.js';
import { evaluate } from '../eval/evaluate.js';
import { runWorker } from './child.js';
import { EdgefitError } from '../onnx/errors.js';
import { agreement, splitItems, type ItemOutput, type OutputKind } from '../eval/agreement.js';
import { openUserDataRef, type UserDataRef } from '../data/user-data.js';
import type { QualityFigures } from './types.js';

export interface QualityRequest {
  modelPath: string;
  session: { threads: number; graphOptimizationLevel: OptLevel; disabledOptimizers: string[] };
  /** Score with the task (built-in name or spec path); else agreement with `reference`. */
  task?: { ref: string; data?: string; seed: number; limit: number; split?: 'train' | 'val' | 'test' | 'all' };
  /** The source model: the reference for agreement when there is no task, on held-out user data or (last resort) random inputs. */
  reference: {
    modelPath: string;
    shapes?: Record<string, number[]>;
    values?: Record<string, number>;
    userData?: UserDataRef;
    count: number;
    /** Output kinds the user gave (--output-kind), overriding the guess. */
    kinds?: Record<string, OutputKind>;
  };
  batchSize: number;
}

async function loadTaskFor(req: NonNullable<QualityRequest['task']>) {
  const { loadTask } = await import('../data/task.js');
  const { loadSplit } = await import('../data/load-split.js');
  const base = { ...(req.data ? { data: req.data } : {}), seed: req.seed, limit: req.limit };
  if (!req.split || req.split === 'all') return loadTask(req.ref, base);
  return (await loadSplit(req.ref, req.split, base)).task; // too little data to split: all of it
}

export async function measureQuality(req: QualityRequest): Promise<QualityFigures> {
  const so = { threads: req.session.threads, graphOptimizationLevel: req.session.graphOptimizationLevel, disabledOptimizers: req.session.disabledOptimizers };
  const session = await createSession(req.modelPath, so);
  try {
    if (req.task) {
      const task = await loadTaskFor(req.task);
      const r = await evaluate(session, task, { limit: req.task.limit, batchSize: req.batchSize });
      const metrics: QualityFigures['metrics'] = {};
      for (const [k, v] of Object.entries(r.metrics)) metrics[k] = { value: v.value, ci: v.ci };
      return {
        primary: { name: r.primary.name, value: r.primary.value, ci: r.primary.ci },
        metrics,
        n: r.n,
        perItem: [...r.perItem],
        ...(r.weights ? { weights: [...r.weights] } : {}),
        higherIsBetter: r.primary.higherIsBetter,
        source: 'task',
      };
    }
    const ref = await createSession(req.reference.modelPath, { ...so, graphOptimizationLevel: 'all', disabledOptimizers: [] });
    try {
      let stream: AsyncIterable<Record<string, ort.Tensor>>;
      let close = () => {};
      if (req.reference.userData) {
        const data = openUserDataRef(req.reference.userData, declaredInputs(ref));
        stream = data.stream('holdout', req.reference.count)();
        close = () => data.close();
      } else {
        const r = req.reference;
        stream = (async function* () {
          for (let i = 0; i < r.count; i++)
            yield synthesizeFeeds(ref, { ...(r.shapes ? { shapes: r.shapes } : {}), ...(r.values ? { values: r.values } : {}), seed: 1000 + i });
        })();
      }
      try {
        const q = await agreementWith(session, ref, stream, req.reference.kinds);
        return { ...q, basis: req.reference.userData ? 'data' : 'random' };
      } finally {
        close();
      }
    } finally {
      await ref.release();
    }
  } finally {
    await session.release();
  }
}

/** An output as float32 items (int and float16 outputs converted), whatever its type. */
function itemsOf(t: ort.Tensor): ItemOutput[] {
  const d = t.data as ArrayLike<number | bigint>;
  const f = d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>, (v) => Number(v));
  return splitItems(f, t.dims);
}

/** Runs the candidate and the source on the same feeds and scores their agreement output by output. */
export async function agreementWith(
  s: ort.InferenceSession,
  ref: ort.InferenceSession,
  batches: AsyncIterable<Record<string, ort.Tensor>>,
  kinds: Readonly<Record<string, OutputKind>> = {},
): Promise<QualityFigures> {
  const names = ref.outputNames;
  const missing = names.filter((n) => !s.outputNames.includes(n));
  if (missing.length)
    throw new EdgefitError(
      `the candidate has no output ${missing.map((m) => `'${m}'`).join(', ')} (the source model has ${names.join(', ')})`,
      'E_AGREEMENT',
      'a pass renamed or dropped an output; report it with the pass name',
    );
  const got: ItemOutput[][] = names.map(() => []);
  const want: ItemOutput[][] = names.map(() => []);
  for await (const feeds of batches) {
    const [a, b] = [await s.run(feeds), await ref.run(feeds)];
    names.forEach((n, k) => {
      got[k]!.push(...itemsOf(a[n]!));
      want[k]!.push(...itemsOf(b[n]!));
    });
  }
  if (want[0]!.length === 0) throw new EdgefitError('no held-out item to measure agreement on', 'E_AGREEMENT', 'give more samples in --data');
  const ag = agreement(names, got, want, 0, kinds);
  return {
    primary: ag.primary,
    higherIsBetter: true,
    metrics: Object.fromEntries(Object.entries(ag.metrics).map(([k, v]) => [k, { value: v.value, ci: v.ci }])),
    n: ag.n,
    perItem: ag.perItem,
    source: 'agreement',
    outputs: ag.outputs.map((o) => ({ output: o.output, kind: o.kind, metric: o.primary, ...(o.threshold !== undefined ? { threshold: o.threshold } : {}) })),
  };
}

/** measureQuality in a child process; a crash, a timeout or an error comes back as an EdgefitError. */
export async function qualityIsolated(req: QualityRequest, timeoutMs = 10 * 60_000): Promise<QualityFigures> {
  return runWorker<QualityFigures>('quality-worker', req, timeoutMs, `the quality measurement of ${req.modelPath}`);
}
