// The run directory (shared/DESIGN.md "Artifacts"): run.json, candidates/<id>/{model.onnx,result.json},
// summary.json, best.onnx + best.manifest.json, report.html. Every write is atomic (temp + rename), and a
// candidate whose result.json carries the same run key is reused instead of measured again.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { writeFileAtomic } from '../onnx/write-model.js';
import type { CandidateResult, Sensitivity, Summary } from './types.js';

/** What was asked: enough to tell whether an existing directory belongs to the same run. */
export interface RunSpec {
  schema: 'edgefit.optimize.run/1';
  command: string[];
  source: { path: string; sha256: string };
  task: { ref: string; data?: string; dataSha256: string; limit: number };
  budget: string[];
  quality: string[];
  objective: string;
  threads: number;
  timeLimitSec: number;
  /** Settings that change what a measurement means (shapes, warm-up, durations): part of the key. */
  measurement: Record<string, unknown>;
}

/** The part of the spec a stored measurement must match to be reused. */
export function runKey(spec: RunSpec): string {
  const { source, task, threads, measurement } = spec;
  return createHash('sha256')
    .update(JSON.stringify({ s: source.sha256, t: task.ref, d: task.dataSha256, l: task.limit, threads, measurement }))
    .digest('hex')
    .slice(0, 16);
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface StoredResult extends CandidateResult {
  runKey: string;
}

export interface Manifest {
  schema: 'edgefit.optimize.manifest/1';
  model: string;
  sha256: string;
  sizeBytes: number;
  source: { path: string; sha256: string };
  passes: CandidateResult['config']['passes'];
  session: CandidateResult['config']['session'];
  data: { task: string; sha256: string; n: number };
  figures: { p50: number; p90: number; p99: number; max: number; quality: { name: string; value: number; ci: [number, number] }; peakRssBytes?: number };
  constraints: string[];
  machine: Summary['machine'];
  createdAt: string;
}

export class RunDir {
  readonly key: string;
  /** Candidates reused from an earlier, interrupted run with the same key. */
  reused = 0;

  constructor(
    readonly root: string,
    readonly spec: RunSpec,
  ) {
    this.key = runKey(spec);
  }

  /** Creates the directory (or reopens it) and records what was asked. */
  open(): this {
    try {
      mkdirSync(join(this.root, 'candidates'), { recursive: true });
    } catch (e) {
      throw new EdgefitError(`cannot create the run directory ${this.root}: ${(e as Error).message}`, 'E_RUN_DIR', 'pass a writable --out directory');
    }
    if (existsSync(this.root) && !statSync(this.root).isDirectory())
      throw new EdgefitError(`${this.root} is not a directory`, 'E_RUN_DIR', 'pass a directory to --out');
    // Another model's (or task's) run lives here: reopening would overwrite its run.json, its candidates
    // (ids do not depend on the model) and its best.onnx. Same model and task with other settings is a
    // rerun, which re-measures what no longer matches.
    const prev = this.previousSpec();
    if (prev && (prev.source?.sha256 !== this.spec.source.sha256 || prev.task?.ref !== this.spec.task?.ref))
      throw new EdgefitError(
        `${this.root} holds the run of another ${prev.source?.sha256 !== this.spec.source.sha256 ? `model (${prev.source?.path ?? 'unknown'})` : `task (${prev.task?.ref ?? 'none'})`}; it is left as it is`,
        'E_RUN_DIR',
        `pass another --out directory, or remove ${this.root} to start over`,
      );
    writeFileAtomic(join(this.root, 'run.json'), JSON.stringify({ ...this.spec, key: this.key }, null, 2) + '\n');
    return this;
  }

  /** What run.json of an earlier run in this directory says, if there is one that can be read. */
  private previousSpec(): Partial<RunSpec> | undefined {
    try {
      return JSON.parse(readFileSync(join(this.root, 'run.json'), 'utf8')) as Partial<RunSpec>;
    } catch {
      return undefined;
    }
  }

  candidateDir(id: string): string {
    const d = join(this.root, 'candidates', id);
    mkdirSync(d, { recursive: true });
    return d;
  }

  modelPath(id: string): string {
    return join(this.candidateDir(id), 'model.onnx');
  }

  /** A stored result of the same run (same key) whose model file is still there and unchanged. */
  readResult(id: string): CandidateResult | undefined {
    const p = join(this.root, 'candidates', id, 'result.json');
    if (!existsSync(p)) return undefined;
    let r: StoredResult;
    try {
      r = JSON.parse(readFileSync(p, 'utf8')) as StoredResult;
    } catch {
      return undefined; // unreadable: measure again
    }
    if (r.runKey !== this.key || r.id !== id) return undefined;
    if (r.status === 'ok') {
      const m = join(this.root, 'candidates', id, 'model.onnx');
      if (!existsSync(m) || (r.modelSha256 && sha256File(m) !== r.modelSha256)) return undefined;
    }
    const { runKey: _k, ...rest } = r;
    return rest;
  }

  writeResult(r: CandidateResult): void {
    this.candidateDir(r.id);
    const stored: StoredResult = { ...r, runKey: this.key };
    writeFileAtomic(join(this.root, 'candidates', r.id, 'result.json'), JSON.stringify(stored, null, 1) + '\n');
  }

  /** Per-node sensitivity measured for a candidate (expensive, so kept for a resumed run). */
  readSensitivity(id: string): Sensitivity | undefined {
    const p = join(this.root, 'candidates', id, 'sensitivity.json');
    if (!existsSync(p)) return undefined;
    try {
      const s = JSON.parse(readFileSync(p, 'utf8')) as Sensitivity & { runKey?: string };
      if (s.runKey !== this.key) return undefined;
      const { runKey: _k, ...rest } = s;
      return rest;
    } catch {
      return undefined;
    }
  }

  writeSensitivity(id: string, s: Sensitivity): void {
    this.candidateDir(id);
    writeFileAtomic(join(this.root, 'candidates', id, 'sensitivity.json'), JSON.stringify({ ...s, runKey: this.key }, null, 1) + '\n');
  }

  writeSummary(s: Summary): string {
    const p = join(this.root, 'summary.json');
    writeFileAtomic(p, JSON.stringify(s, null, 1) + '\n');
    return p;
  }

  writeBest(candidateModel: string, manifest: Manifest): { model: string; manifest: string } {
    const model = join(this.root, 'best.onnx');
    const man = join(this.root, 'best.manifest.json');
    writeFileAtomic(model, readFileSync(candidateModel));
    writeFileAtomic(man, JSON.stringify(manifest, null, 2) + '\n');
    return { model, manifest: man };
  }

  writeReport(html: string): string {
    const p = join(this.root, 'report.html');
    writeFileAtomic(p, html);
    return p;
  }
}
