// The run directory (shared/DESIGN.md "Artifacts"): run.json, candidates/<id>/{model.onnx,result.json},
// summary.json, best.onnx + best.manifest.json, report.html. Every write is atomic (temp + rename), and a
// candidate whose result.json carries the same run key is reused instead of measured again. A failed
// candidate is retried once by a resumed run, then stays failed. A run holds a lock on its directory
// (.lock: pid and start time), so that two runs never write into one directory.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { writeFileAtomic } from '../onnx/write-model.js';
import { pidAlive } from './child.js';
import type { CandidateResult, Sensitivity, Summary } from './types.js';

/** How many times a candidate is tried (the first run, and one retry on resume) before it stays failed. */
export const MAX_ATTEMPTS = 2;

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
  /** How many runs have tried this candidate (built and measured, or failed). */
  attempts?: number;
}

/** What .lock in a run directory holds. */
export interface RunLock {
  pid: number;
  host: string;
  startedAt: string;
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for the run. */
  procStart?: string;
  command: string[];
}

/** This process's start time from /proc (Linux), or undefined elsewhere. */
function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22, counted after the ')' that closes the command name (which may hold spaces)
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when the process that wrote `lock` is still running (same host, same pid, same start time). */
function lockHolderAlive(lock: RunLock): boolean {
  if (lock.host !== hostname()) return true; // cannot tell: assume it is
  if (!pidAlive(lock.pid)) return false;
  const now = procStart(lock.pid);
  return !(lock.procStart && now && now !== lock.procStart);
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

/** Run directories whose lock this process holds: released on exit (one hook for all). */
const heldLocks = new Set<RunDir>();
let exitHookInstalled = false;

export class RunDir {
  readonly key: string;
  /** Candidates reused from an earlier, interrupted run with the same key. */
  reused = 0;
  /** Set when open() took over the lock of a run that had died: say so to the user. */
  lockNote?: string;
  private locked = false;
  /** The attempt count of each candidate as this run knows it: reused as stored, or tried once more. */
  private readonly attemptOf = new Map<string, number>();

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
    this.lock();
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

  private get lockPath(): string {
    return join(this.root, '.lock');
  }

  /**
   * Takes the directory's lock: creates .lock exclusively with this process's pid and start time. A lock
   * held by a live process is an error; one left by a dead process is taken over (lockNote says so).
   * Released by close(), and when this process exits.
   */
  private lock(): void {
    const mine: RunLock = {
      pid: process.pid,
      host: hostname(),
      startedAt: new Date().toISOString(),
      procStart: procStart(process.pid),
      command: this.spec.command,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      let fd: number;
      try {
        fd = openSync(this.lockPath, 'wx');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new EdgefitError(`cannot lock ${this.root}: ${(e as Error).message}`, 'E_RUN_DIR');
        const held = this.readLock();
        if (held && held.pid === process.pid && held.host === mine.host) return; // this process already holds it
        if (held && lockHolderAlive(held))
          throw new EdgefitError(
            `${this.root} is in use by another optimize run (pid ${held.pid} on ${held.host}, started ${held.startedAt})`,
            'E_RUN_LOCKED',
            `wait for that run to finish, or pass another --out directory; if no such run exists, remove ${this.lockPath}`,
          );
        this.lockNote = held
          ? `note: took over the lock of ${this.root} from a run that is gone (pid ${held.pid}, started ${held.startedAt}); its results are reused`
          : `note: replaced an unreadable lock file in ${this.root}`;
        rmSync(this.lockPath, { force: true });
        continue;
      }
      try {
        writeSync(fd, JSON.stringify(mine, null, 1) + '\n');
      } finally {
        closeSync(fd);
      }
      this.locked = true;
      heldLocks.add(this);
      if (heldLocks.size === 1 && !exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', () => {
          for (const d of heldLocks) d.close();
        });
      }
      return;
    }
    throw new EdgefitError(`cannot lock ${this.root}: another run keeps taking it`, 'E_RUN_LOCKED', 'pass another --out directory');
  }

  private readLock(): RunLock | undefined {
    try {
      return JSON.parse(readFileSync(this.lockPath, 'utf8')) as RunLock;
    } catch {
      return undefined;
    }
  }

  /** Releases the lock, if this run holds it. */
  close(): void {
    if (!this.locked) return;
    this.locked = false;
    heldLocks.delete(this);
    const held = this.readLock();
    if (held?.pid === process.pid) rmSync(this.lockPath, { force: true });
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

  private readStored(id: string): StoredResult | undefined {
    const p = join(this.root, 'candidates', id, 'result.json');
    if (!existsSync(p)) return undefined;
    try {
      const r = JSON.parse(readFileSync(p, 'utf8')) as StoredResult;
      return r.runKey === this.key && r.id === id ? r : undefined;
    } catch {
      return undefined; // unreadable: measure again
    }
  }

  /**
   * A stored result of the same run (same key) whose model file is still there and unchanged. A failure
   * tried fewer than MAX_ATTEMPTS times is not returned, so a resumed run tries the candidate again.
   */
  readResult(id: string): CandidateResult | undefined {
    const r = this.readStored(id);
    if (!r) return undefined;
    if (r.status === 'failed' && (r.attempts ?? 1) < MAX_ATTEMPTS) return undefined;
    if (r.status === 'ok') {
      const m = join(this.root, 'candidates', id, 'model.onnx');
      if (!existsSync(m) || (r.modelSha256 && sha256File(m) !== r.modelSha256)) return undefined;
    }
    this.attemptOf.set(id, r.attempts ?? 1);
    const { runKey: _k, attempts: _a, ...rest } = r;
    return rest;
  }

  /** How many runs have tried this candidate so far (0: never). */
  attempts(id: string): number {
    const r = this.readStored(id);
    return r ? (r.attempts ?? 1) : 0;
  }

  /** Stores a result; a failure counts one more attempt on top of the earlier runs' (see readResult). */
  writeResult(r: CandidateResult): void {
    this.candidateDir(r.id);
    // one run writes a candidate several times (screened, measured, verdict): that is one attempt
    let attempts = this.attemptOf.get(r.id);
    if (attempts === undefined) {
      const before = this.readStored(r.id);
      attempts = before?.status === 'failed' ? (before.attempts ?? 1) + 1 : 1;
      this.attemptOf.set(r.id, attempts);
    }
    if (r.status === 'failed' && attempts >= MAX_ATTEMPTS && !/not retried/.test(r.error ?? ''))
      r = { ...r, error: `${r.error ?? 'failed'} (failed ${attempts} times; not retried)` };
    const stored: StoredResult = { ...r, runKey: this.key, attempts };
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
