// A fake world for the chain search tests: fake passes and training stages, a measurer with a
// content-addressed stage cache whose stage executions are counted by key, fake stage costs charged to
// a fake clock, and figures that follow from the chain (pruning speeds up and costs quality, recovery
// buys it back with steps, quantizing speeds up and costs a little, QAT buys most of that back).

import { createHash } from 'node:crypto';
import type { Pass } from '../passes/pass.js';
import type { RunDir } from './run-dir.js';
import { latencyFigures } from './stats.js';
import type { Measurer } from './strategy.js';
import type { CandidateConfig, CandidateResult, Measurement, Sensitivity } from './types.js';

const base = { description: '', tolerance: { metric: 'cosine' as const, value: 0.9 }, run: async () => Promise.reject(new Error('not run')) };
export const PASSES: Pass[] = [
  { ...base, name: 'quantize-dynamic', params: {} },
  { ...base, name: 'quantize-static', needsCalibration: true, params: {} },
  {
    ...base,
    name: 'prune-structured',
    params: { ratio: { type: 'number', default: 0, description: '', search: { values: [0.25, 0.5] } } },
    effect: { params: { ratio: 0.5 }, why: '' },
  },
  {
    ...base,
    name: 'prune-magnitude',
    params: { ratio: { type: 'number', default: 0, description: '', search: { values: [0.5] } } },
    effect: { params: { ratio: 0.5 }, why: '' },
  },
  { ...base, name: 'recover', role: 'train', params: { steps: { type: 'integer', default: 100, description: '', search: { values: [100, 400] } } } },
  { ...base, name: 'qat', role: 'train', params: { steps: { type: 'integer', default: 100, description: '' } } },
];

export interface WorldCosts {
  transformMs: number;
  trainStepMs: number;
  screenMs: number;
  fullMs: number;
}
export const COSTS: WorldCosts = { transformMs: 2000, trainStepMs: 1000, screenMs: 5000, fullMs: 15_000 };

/** What static int8 does to a chain: its latency ratio and the quality it costs. */
export interface StaticInt8 {
  ratio: number;
  loss: number;
}
export const STATIC_INT8: StaticInt8 = { ratio: 0.55, loss: 0.06 };

/** Latency (ms) and quality of a chain. */
export function truth(passes: CandidateConfig['passes'], int8: StaticInt8 = STATIC_INT8): { ms: number; q: number } {
  let ms = 10;
  const q = 0.9;
  let pruneDeficit = 0;
  let quantLoss = 0;
  for (const p of passes) {
    if (p.name === 'prune-structured') {
      const r = Number(p.params.ratio);
      ms *= 1 - r;
      pruneDeficit = r >= 0.5 ? 0.5 : 0.15;
    } else if (p.name === 'prune-magnitude') {
      ms *= 0.95;
      pruneDeficit = 0.2;
    } else if (p.name === 'recover') {
      pruneDeficit *= 1 / (1 + Number(p.params.steps) / 11);
    } else if (p.name === 'quantize-dynamic') {
      ms *= 0.8;
      quantLoss += 0.004;
    } else if (p.name === 'quantize-static') {
      ms *= int8.ratio;
      quantLoss += int8.loss;
    } else if (p.name === 'qat') quantLoss *= 0.2;
  }
  return { ms, q: q - pruneDeficit - quantLoss };
}

export function world(costs: WorldCosts = COSTS, int8: StaticInt8 = STATIC_INT8) {
  const clock = { t: 0 };
  const executions = new Map<string, number>();
  const cache = new Set<string>();
  const builds: string[] = [];
  const signals: (AbortSignal | undefined)[] = [];
  const keys = (cfg: CandidateConfig) => {
    let k = 'src';
    return cfg.passes.map((p) => (k = `${k}/${p.name}${JSON.stringify(p.params)}`));
  };
  const cost = (p: CandidateConfig['passes'][number]) =>
    p.name === 'recover' || p.name === 'qat' ? Number(p.params.steps) * costs.trainStepMs : costs.transformMs;
  const measurer: Measurer = {
    async build(cfg, _out, opts) {
      builds.push(cfg.label);
      signals.push(opts?.signal);
      const ks = keys(cfg);
      const stageTimes = cfg.passes.map((p, i) => {
        if (cache.has(ks[i]!)) return { stage: p.name, wallMs: 0, cached: true };
        const ms = cost(p);
        clock.t += ms;
        executions.set(ks[i]!, (executions.get(ks[i]!) ?? 0) + 1);
        cache.add(ks[i]!);
        return { stage: p.name, wallMs: ms, cached: false };
      });
      return { records: [], sizeBytes: 1000, sha256: createHash('sha256').update(JSON.stringify(cfg.passes)).digest('hex'), stageTimes };
    },
    stagePlan(cfg) {
      return keys(cfg).map((key, i) => ({ stage: cfg.passes[i]!.name, key, cached: cache.has(key) }));
    },
    async measure(_p, cfg, stage): Promise<Measurement> {
      clock.t += stage === 'screen' ? costs.screenMs : costs.fullMs;
      const { ms, q } = truth(cfg.passes, int8);
      const n = stage === 'screen' ? 100 : 200;
      const k = Math.round(q * n);
      return {
        stage,
        latency: latencyFigures(Array.from({ length: 40 }, (_, i) => ms * (1 + 0.01 * (i % 5)))),
        quality: {
          primary: { name: 'exact', value: k / n, ci: [k / n - 0.03, k / n + 0.03] },
          metrics: {},
          n,
          perItem: Array.from({ length: n }, (_, i) => (i < k ? 1 : 0)),
          source: 'task',
        },
        measuredAt: '2026-01-01T00:00:00Z',
        wallMs: stage === 'screen' ? costs.screenMs : costs.fullMs,
      };
    },
  };
  return { clock, executions, builds, signals, measurer };
}

export function memDir(): RunDir {
  const results = new Map<string, CandidateResult>();
  const sens = new Map<string, Sensitivity>();
  return {
    modelPath: (id: string) => `/mem/${id}/model.onnx`,
    readResult: (id: string) => (results.has(id) ? structuredClone(results.get(id)) : undefined),
    writeResult: (r: CandidateResult) => results.set(r.id, structuredClone(r)),
    readSensitivity: (id: string) => sens.get(id),
    writeSensitivity: (id: string, s: Sensitivity) => sens.set(id, structuredClone(s)),
  } as unknown as RunDir;
}
