// The degrade ladder: the models a server may answer with, most accurate first. From an optimize run
// directory (best.onnx, and ladder.json when the run wrote one) or from model paths given in order.
// ladder.json: {"models": [{"id", "path", "latency": {"p50", "p90", "p99", …}, "quality"}]}, paths
// relative to the run directory, most accurate first.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UsageError } from '../onnx/errors.js';

export interface LadderModel {
  id: string;
  path: string;
  /** Latency quantiles in ms as the run measured them (shown in /v1/models; serving measures its own). */
  latency?: Record<string, number>;
  quality?: number;
}

export interface Ladder {
  models: LadderModel[];
  /** The run's absolute latency budget in ms, a default deadline. */
  budgetMs?: number;
  /** The task the run optimized for, a default --task. */
  task?: string;
  /** Where it came from, for messages. */
  source: string;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`, 'rewrite or delete the file');
  }
}

function ladderJson(dir: string): LadderModel[] {
  const path = join(dir, 'ladder.json');
  const j = readJson(path) as { models?: unknown };
  if (!Array.isArray(j.models) || j.models.length === 0)
    throw new UsageError(`${path} has no "models" list`, 'see docs/serve-api.md for the ladder.json schema');
  return j.models.map((m: unknown, i: number) => {
    const o = m as Record<string, unknown>;
    if (typeof o.id !== 'string' || typeof o.path !== 'string')
      throw new UsageError(`${path}: models[${i}] needs a string "id" and "path"`, 'see docs/serve-api.md');
    const model: LadderModel = { id: o.id, path: resolve(dir, o.path) };
    if (o.latency && typeof o.latency === 'object') model.latency = o.latency as Record<string, number>;
    if (typeof o.quality === 'number') model.quality = o.quality;
    return model;
  });
}

/** The run's budget (an absolute latency constraint) and task, from summary.json when it is there. */
function runFacts(dir: string): { budgetMs?: number; task?: string } {
  const path = join(dir, 'summary.json');
  if (!existsSync(path)) return {};
  const s = readJson(path) as { constraints?: { kind?: string; ms?: number }[]; task?: { name?: string } };
  const ms = (s.constraints ?? []).filter((c) => c.kind === 'latency' && typeof c.ms === 'number').map((c) => c.ms!);
  return { ...(ms.length ? { budgetMs: Math.min(...ms) } : {}), ...(typeof s.task?.name === 'string' ? { task: s.task.name } : {}) };
}

/** Reads the ladder from the command line's model arguments. */
export function resolveLadder(args: readonly string[]): Ladder {
  if (args.length === 0) throw new UsageError('no model to serve', 'give a model.onnx, an optimize run directory, or several models (most accurate first)');
  for (const a of args) if (!existsSync(a)) throw new UsageError(`${a} does not exist`, 'give a model.onnx or an optimize run directory');
  if (args.length === 1 && statSync(args[0]!).isDirectory()) {
    const dir = resolve(args[0]!);
    const facts = runFacts(dir);
    if (existsSync(join(dir, 'ladder.json'))) return { models: ladderJson(dir), ...facts, source: join(dir, 'ladder.json') };
    const best = join(dir, 'best.onnx');
    if (!existsSync(best))
      throw new UsageError(
        `${dir} has no best.onnx (and no ladder.json)`,
        'the run found no model that meets its constraints; serve a model file instead, or rerun optimize',
      );
    return { models: [{ id: 'best', path: best }], ...facts, source: dir };
  }
  const seen = new Map<string, number>();
  const models = args.map((a) => {
    if (statSync(a).isDirectory())
      throw new UsageError(`${a} is a folder; a ladder of several entries takes model files`, 'give one run directory alone, or .onnx files');
    const base = basename(a).replace(/\.onnx$/i, '');
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { id: n > 1 ? `${base}-${n}` : base, path: resolve(a) };
  });
  return { models, source: args.join(', ') };
}
