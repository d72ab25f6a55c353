// One candidate's quality: the task's metric from the eval module (src/eval) when there is a task, else
// per-item top-1 agreement with the source model on the same feeds. qualityIsolated runs it in a child process
// (quality-worker) so that a crash or a memory blow-up stays there.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { EdgefitError } from '../onnx/errors.js';
import { createSession, type OptLevel } from '../runtime/session.js';
import { synthesizeFeeds } from '../runtime/inputs.js';
import { evaluate } from '../eval/evaluate.js';
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
        for (let i = 0; i < req.reference.count; i++) yield synthesizeFeeds(ref, { ...(req.reference.shapes ? { shapes: req.reference.shapes } : {}), seed: 1000 + i });
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

function workerArgs(): string[] {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    let tsx = 'tsx';
    try {
      tsx = import.meta.resolve('tsx');
    } catch {
      // resolved from the working directory instead
    }
    return ['--import', tsx, new URL('./quality-worker.ts', here).pathname];
  }
  return [new URL('./quality-worker.js', here).pathname];
}

/** measureQuality in a child process; a crash, a timeout or an error comes back as an EdgefitError. */
export async function qualityIsolated(req: QualityRequest, timeoutMs = 10 * 60_000): Promise<QualityFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-quality-'));
  const reqPath = join(dir, 'request.json');
  const outPath = join(dir, 'result.json');
  writeFileSync(reqPath, JSON.stringify(req));
  try {
    const { code, signal, stderr } = await new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [...workerArgs(), reqPath, outPath], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err = (err + d.toString()).slice(-4000);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('close', (c, s) => {
        clearTimeout(timer);
        resolve({ code: c, signal: s, stderr: err });
      });
    });
    if (!existsSync(outPath)) {
      const why = signal === 'SIGKILL' ? `was killed (timeout after ${Math.round(timeoutMs / 1000)} s, or out of memory)` : `exited with ${signal ?? code}`;
      throw new EdgefitError(`the quality measurement of ${req.modelPath} ${why}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`, 'E_QUALITY_CRASH');
    }
    const r = JSON.parse(readFileSync(outPath, 'utf8')) as { ok: true; quality: QualityFigures } | { ok: false; error: { message: string; code?: string; hint?: string } };
    if (!r.ok) throw new EdgefitError(r.error.message, r.error.code ?? 'E_QUALITY', r.error.hint);
    return r.quality;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
