// One candidate's quality: the task's metric from the eval module (src/eval) when there is a task, else
// per-item top-1 agreement with the source model on the same feeds. qualityIsolated runs it in a child process
// (quality-worker) so that a crash or a memory blow-up stays there.

import type * as ort from 'onnxruntime-node';
import { createSession, type OptLevel } from '../runtime/session.js';
import { synthesizeFeeds } from '../runtime/inputs.js';
import { evaluate } from '../eval/evaluate.js';
import { runWorker } from './child.js';
import { wilson } from './stats.js';
import type { QualityFigures } from './types.js';

export interface QualityRequest {
  modelPath: string;
  session: { threads: number; graphOptimizationLevel: OptLevel; disabledOptimizers: string[] };
  /** Score with the task (built-in name or spec path); else agreement with `reference`. */
  task?: { ref: string; data?: string; seed: number; limit: number; split?: 'train' | 'val' | 'test' | 'all' };
  /** The source model: the reference for agreement when there is no task. */
  reference: { modelPath: string; shapes?: Record<string, number[]>; count: number };
  batchSize: number;
}

async function loadTaskFor(req: NonNullable<QualityRequest['task']>) {
  const { loadTask } = await import('../data/task.js');
  const base = { ...(req.data ? { data: req.data } : {}), seed: req.seed, limit: req.limit };
  if (!req.split || req.split === 'all') return loadTask(req.ref, base);
  try {
    return await loadTask(req.ref, { ...base, split: req.split });
  } catch {
    return loadTask(req.ref, base); // too little data to split: use it all
  }
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
      const batches = (async function* () {
        for (let i = 0; i < req.reference.count; i++)
          yield synthesizeFeeds(ref, { ...(req.reference.shapes ? { shapes: req.reference.shapes } : {}), seed: 1000 + i });
      })();
      return await agreement(session, ref, batches);
    } finally {
      await ref.release();
    }
  } finally {
    await session.release();
  }
}

/**
 * Per item: 1 when the arg-max over the last axis of the first output agrees with the reference at
 * every position (the class for a classifier, the greedy path for a CTC head), else 0; plus cosine.
 */
async function agreement(s: ort.InferenceSession, ref: ort.InferenceSession, batches: AsyncIterable<Record<string, ort.Tensor>>): Promise<QualityFigures> {
  const perItem: number[] = [];
  const cos: number[] = [];
  const out = ref.outputNames[0]!;
  for await (const feeds of batches) {
    const [a, b] = [await s.run(feeds), await ref.run(feeds)];
    const ta = a[s.outputNames[0]!]!;
    const tb = b[out]!;
    const da = ta.data as Float32Array;
    const db = tb.data as Float32Array;
    const n = Number(tb.dims[0] ?? 1) || 1;
    const last = Number(tb.dims[tb.dims.length - 1] ?? 1);
    const per = db.length / n;
    for (let i = 0; i < n; i++) {
      let same = 1;
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let p = i * per; p < (i + 1) * per; p += last) {
        let ia = 0;
        let ib = 0;
        for (let k = 0; k < last; k++) {
          const x = Number(da[p + k]);
          const y = Number(db[p + k]);
          if (x > Number(da[p + ia])) ia = k;
          if (y > Number(db[p + ib])) ib = k;
          dot += x * y;
          na += x * x;
          nb += y * y;
        }
        if (ia !== ib) same = 0;
      }
      perItem.push(same);
      cos.push(na && nb ? dot / Math.sqrt(na * nb) : 1);
    }
  }
  const k = perItem.reduce((x, y) => x + y, 0);
  const n = perItem.length;
  const meanCos = cos.reduce((x, y) => x + y, 0) / Math.max(1, n);
  const sorted = [...cos].sort((x, y) => x - y);
  const value = n ? k / n : 0;
  return {
    primary: { name: 'agreement', value, ci: wilson(k, n) },
    higherIsBetter: true,
    metrics: { cosine: { value: meanCos, ci: [sorted[Math.floor(0.025 * (n - 1))] ?? meanCos, 1] } },
    n,
    perItem,
    source: 'agreement',
  };
}

/** measureQuality in a child process; a crash, a timeout or an error comes back as an EdgefitError. */
export async function qualityIsolated(req: QualityRequest, timeoutMs = 10 * 60_000): Promise<QualityFigures> {
  return runWorker<QualityFigures>('quality-worker', req, timeoutMs, `the quality measurement of ${req.modelPath}`);
}
