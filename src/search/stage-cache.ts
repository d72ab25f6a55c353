// The content-addressed stage cache: a chain's step i is stored under sha256(parent key, step name,
// canonical params), the source's key being its file's sha256, as <dir>/<key>.onnx with <key>.json
// (record, wall time, sha256, size) beside it. The .onnx is written atomically first and the .json last,
// so an entry exists only once both are whole. Chains sharing a prefix build it once; a build killed
// between steps resumes at the first step without an entry (and inside a training stage, from the
// checkpoint in <key>.ckpt/). An incomplete training stage (stopped by a deadline) is not cached.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { writeFileAtomic, writeModel } from '../onnx/write-model.js';
import type { ParamValues, Pass, PassContext, PassRecord } from '../passes/pass.js';
import { applyStep, passFor, type Step } from '../passes/pipeline.js';
import { removeStageCheckpoint } from '../train/stage-checkpoint.js';
import { needsTrainingContext } from './space.js';

export const STAGE_ENTRY_SCHEMA = 'edgefit.stage/1';

export interface StageEntry {
  schema: typeof STAGE_ENTRY_SCHEMA;
  key: string;
  parent: string;
  stage: string;
  params: ParamValues;
  record: PassRecord;
  wallMs: number;
  sha256: string;
  sizeBytes: number;
}

export interface StageTime {
  stage: string;
  wallMs: number;
  cached: boolean;
  resumedFromStep?: number;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Parameters as JSON with sorted keys and no undefined values: equal parameters, equal text. */
export function canonicalParams(p: ParamValues): string {
  const keys = Object.keys(p)
    .filter((k) => p[k] !== undefined)
    .sort();
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, p[k]])));
}

export function stageKey(parent: string, name: string, params: ParamValues): string {
  return createHash('sha256')
    .update(`${parent}\n${name}\n${canonicalParams(params)}`)
    .digest('hex');
}

/** The key of each step of a chain, in order. */
export function chainKeys(sourceKey: string, steps: readonly Step[]): string[] {
  const keys: string[] = [];
  let parent = sourceKey;
  for (const s of steps) {
    parent = stageKey(parent, s.name, s.params);
    keys.push(parent);
  }
  return keys;
}

export class StageCache {
  constructor(readonly dir: string) {}
  onnxPath(key: string): string {
    return join(this.dir, `${key}.onnx`);
  }
  checkpointDir(key: string): string {
    return join(this.dir, `${key}.ckpt`);
  }
  private jsonPath(key: string): string {
    return join(this.dir, `${key}.json`);
  }
  get(key: string): StageEntry | undefined {
    const j = this.jsonPath(key);
    if (!existsSync(j) || !existsSync(this.onnxPath(key))) return undefined;
    try {
      const e = JSON.parse(readFileSync(j, 'utf8')) as StageEntry;
      return e.schema === STAGE_ENTRY_SCHEMA && e.key === key ? e : undefined;
    } catch {
      return undefined; // a damaged entry is rebuilt
    }
  }
  put(key: string, parent: string, step: Step, model: Model, record: PassRecord, wallMs: number): StageEntry {
    mkdirSync(this.dir, { recursive: true });
    const path = this.onnxPath(key);
    writeModel(model, path);
    const entry: StageEntry = {
      schema: STAGE_ENTRY_SCHEMA,
      key,
      parent,
      stage: step.name,
      params: step.params,
      record,
      wallMs,
      sha256: sha256File(path),
      sizeBytes: statSync(path).size,
    };
    writeFileAtomic(this.jsonPath(key), JSON.stringify(entry, null, 1));
    removeStageCheckpoint(this.checkpointDir(key));
    return entry;
  }
}

/** How many leading steps of the chain are in the cache (every one of them). */
export function cachedPrefix(cache: StageCache | undefined, keys: readonly string[]): number {
  let k = 0;
  while (cache && k < keys.length && cache.get(keys[k]!)) k++;
  return k;
}

export interface ChainBuild {
  /** The source model (read only when some step must run). */
  source: () => Model;
  sourceKey: string;
  steps: readonly Step[];
  passes: readonly Pass[];
  cache?: StageCache;
  /** The context for a step; `train` says a training stage runs (load its teacher and data then only). */
  context: (train: boolean) => Promise<PassContext>;
  label: string;
  log?: (line: string) => void;
}

export interface ChainResult {
  records: PassRecord[];
  stageTimes: StageTime[];
  /** The final model, when any step ran here; else it is the cache file `path`. */
  model?: Model;
  path?: string;
}

/** Builds the chain step by step, reusing the longest cached prefix and caching every step it runs. */
export async function buildChain(b: ChainBuild): Promise<ChainResult> {
  const keys = chainKeys(b.sourceKey, b.steps);
  const done = cachedPrefix(b.cache, keys);
  const records: PassRecord[] = [];
  const stageTimes: StageTime[] = [];
  for (let k = 0; k < done; k++) {
    records.push(b.cache!.get(keys[k]!)!.record);
    stageTimes.push({ stage: b.steps[k]!.name, wallMs: 0, cached: true });
  }
  if (done === b.steps.length && done > 0) return { records, stageTimes, path: b.cache!.onnxPath(keys[done - 1]!) };
  let model = done > 0 ? readModel(b.cache!.onnxPath(keys[done - 1]!)) : b.source().clone();
  // after an incomplete training stage, no later step is what its key says either
  let cache = b.cache;
  for (let k = done; k < b.steps.length; k++) {
    const step = b.steps[k]!;
    const pass = passFor(step, b.passes, b.label);
    const train = pass.role === 'train';
    const ctx = { ...(await b.context(needsTrainingContext(pass, step.params))), ...(train && cache ? { checkpointDir: cache.checkpointDir(keys[k]!) } : {}) };
    const t0 = Date.now();
    const out = await applyStep(model, step, b.passes, ctx, b.label);
    const wallMs = Date.now() - t0;
    const resumed = Number(out.record.stats.resumedFromStep ?? 0);
    stageTimes.push({ stage: step.name, wallMs, cached: false, ...(resumed > 0 ? { resumedFromStep: resumed } : {}) });
    records.push(out.record);
    model = out.model;
    // a training stage stopped early keeps its checkpoint and is not cached under the key of a whole run
    if (out.record.stats.complete === false) cache = undefined;
    cache?.put(keys[k]!, k ? keys[k - 1]! : b.sourceKey, step, model, out.record, wallMs);
    b.log?.(`${b.label}: ${step.name} built in ${(wallMs / 1000).toFixed(1)} s${resumed ? ` (resumed at step ${resumed})` : ''}`);
  }
  return { records, stageTimes, model };
}

/** Writes the chain's result to `outPath` (a copy of the cache file, or the model built here). */
export function writeChainResult(r: ChainResult, outPath: string): { sizeBytes: number; sha256: string } {
  if (r.path) copyFileSync(r.path, outPath);
  else {
    const w = writeModel(r.model!, outPath);
    if (w.externalBytes) return { sizeBytes: w.bytes + w.externalBytes, sha256: sha256File(outPath) };
  }
  return { sizeBytes: statSync(outPath).size, sha256: sha256File(outPath) };
}
