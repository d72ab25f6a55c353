// Runs one of the search's worker scripts (build, quality, sensitivity) in a child process: the request goes
// in as a JSON file, the answer comes back as a JSON file. A crash, a timeout or running out of memory
// becomes an EdgefitError here; nothing in the child can take the search down. Children die with their
// parent (a watchdog thread in the child polls the parent's pid), and the temp folders are removed on
// every exit path; those of runs killed outright are swept at the next start.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { EdgefitError } from '../onnx/errors.js';
import { writeFileAtomic } from '../onnx/write-model.js';
import { nodeScriptArgs } from '../util/node-script.js';

/** Environment variable that tells a worker which process to die with. */
export const PARENT_PID_ENV = 'EDGEFIT_PARENT_PID';
/** Temp folders are named edgefit-<worker>-<owner pid>-XXXXXX, so a sweep can tell whose they are. */
const TEMP_RE = /^edgefit-[a-z-]+-worker-(\d+)-/;

export interface ChildOptions {
  /** Extra node flags for the child (e.g. --max-old-space-size). */
  execArgv?: string[];
}

export async function runWorker<T>(name: string, request: unknown, timeoutMs: number, what: string, opts: ChildOptions = {}): Promise<T> {
  return runChild<T>(name, [...(opts.execArgv ?? []), ...nodeScriptArgs(import.meta.url, name)], request, timeoutMs, what);
}

/** The same as runWorker with the node arguments that start the script given: for tests. */
export async function runChild<T>(name: string, args: string[], request: unknown, timeoutMs: number, what: string): Promise<T> {
  sweepOnce();
  const dir = mkdtempSync(join(tmpdir(), `edgefit-${name}-${process.pid}-`));
  live.dirs.add(dir);
  installExitCleanup();
  const reqPath = join(dir, 'request.json');
  const outPath = join(dir, 'result.json');
  try {
    writeFileSync(reqPath, JSON.stringify(request));
    const ended = await spawnAndWait([...args, reqPath, outPath], timeoutMs);
    if (!existsSync(outPath)) throw childFailure(ended, timeoutMs, what);
    const r = JSON.parse(readFileSync(outPath, 'utf8')) as { ok: true; value: T } | { ok: false; error: { message: string; code?: string; hint?: string } };
    if (!r.ok) throw new EdgefitError(r.error.message, r.error.code ?? 'E_WORKER', r.error.hint);
    return r.value;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    live.dirs.delete(dir);
  }
}

interface Ended {
  code: number | null;
  signal: string | null;
  stderr: string;
  timedOut: boolean;
}

function spawnAndWait(args: string[], timeoutMs: number): Promise<Ended> {
  return new Promise<Ended>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, [PARENT_PID_ENV]: String(process.pid) } });
    live.children.add(child);
    let err = '';
    let timedOut = false;
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-8000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      live.children.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      live.children.delete(child);
      resolve({ code, signal, stderr: err, timedOut });
    });
  });
}

/** V8's heap limit, a failed native allocation, or the kernel's OOM killer. */
const OOM_RE = /JavaScript heap out of memory|Reached heap limit|Allocation failed|std::bad_alloc|Cannot allocate memory|out of memory/i;

/** The error for a child that ended without an answer: out of memory, stopped, or crashed. */
function childFailure(e: Ended, timeoutMs: number, what: string): EdgefitError {
  // "building quant-b" reads as is; "the quality measurement of m.onnx" gets a verb
  const doing = /^[a-z]+ing\b/.test(what) ? what : `running ${what}`;
  if (e.timedOut) return new EdgefitError(`${what} took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`, 'E_WORKER_TIMEOUT');
  if (OOM_RE.test(e.stderr) || e.signal === 'SIGKILL')
    return new EdgefitError(
      `out of memory while ${doing}${e.signal === 'SIGKILL' && !OOM_RE.test(e.stderr) ? ' (the child was killed with SIGKILL, most likely by the system for using too much memory)' : ''}`,
      'E_WORKER_OOM',
      'the candidate needs more memory than this machine (or the node heap limit) allows; give node more (NODE_OPTIONS=--max-old-space-size=8192) or leave that pass out',
    );
  // the last lines of stderr say why; a V8 backtrace is not one of them
  const tail = e.stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(#|at |\d+: 0x|----|<--|==== )/.test(l))
    .slice(-3)
    .join(' | ');
  return new EdgefitError(`${what} exited with ${e.signal ?? e.code}${tail ? `: ${tail}` : ''}`, 'E_WORKER_CRASH');
}

// ------------------------------------------------------------------ cleanup

/** Children and temp folders of this process that are still live, for the exit handlers. */
const live = { children: new Set<ChildProcess>(), dirs: new Set<string>() };
let cleanupInstalled = false;

function cleanupNow(): void {
  for (const c of live.children) c.kill('SIGKILL');
  for (const d of live.dirs) rmSync(d, { recursive: true, force: true });
  live.children.clear();
  live.dirs.clear();
}

/** On exit, and on SIGINT/SIGTERM/SIGHUP (whose default would skip 'exit'), kill live children and remove their folders. */
function installExitCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', cleanupNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      cleanupNow();
      // then die of the signal as if no handler had been installed, unless someone else handles it
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/** True when a process with this pid exists (EPERM: it exists, and is someone else's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let swept = false;

/** Removes worker temp folders whose owner process is gone (a run killed with SIGKILL); returns how many. */
export function sweepStaleTempDirs(root = tmpdir()): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  for (const name of names) {
    const owner = Number(TEMP_RE.exec(name)?.[1]);
    if (!owner || owner === process.pid || pidAlive(owner)) continue;
    rmSync(join(root, name), { recursive: true, force: true });
    n++;
  }
  return n;
}

function sweepOnce(): void {
  if (swept) return;
  swept = true;
  sweepStaleTempDirs();
}

// ------------------------------------------------------------------ the child's side

/**
 * Kills this process when its parent is gone. The check runs on a worker thread, so it fires even while
 * the main thread is busy in a long synchronous pass; the parent is gone when our ppid changes (we were
 * re-parented) or its pid no longer exists.
 */
export function dieWithParent(parentPid: number, everyMs = 500): void {
  const code = `
    const { workerData } = require('node:worker_threads');
    const { parent, everyMs } = workerData;
    const gone = () => {
      if (process.ppid !== parent) return true;
      try { process.kill(parent, 0); return false; } catch (e) { return e.code !== 'EPERM'; }
    };
    setInterval(() => { if (gone()) process.kill(process.pid, 'SIGKILL'); }, everyMs);`;
  const w = new Worker(code, { eval: true, workerData: { parent: parentPid, everyMs } });
  w.unref();
}

/** The child's side: reads the request, runs `fn`, writes the answer (or the error) atomically. */
export async function serveWorker<Q, T>(fn: (req: Q) => Promise<T>): Promise<void> {
  const parent = Number(process.env[PARENT_PID_ENV]);
  if (parent > 0) dieWithParent(parent);
  const [reqPath, outPath] = process.argv.slice(2);
  if (!reqPath || !outPath) throw new Error('usage: <worker> <request.json> <result.json>');
  const req = JSON.parse(readFileSync(reqPath, 'utf8')) as Q;
  try {
    const value = await fn(req);
    writeFileAtomic(outPath, JSON.stringify({ ok: true, value }));
  } catch (e) {
    const err = e as Error & { code?: string; hint?: string };
    writeFileAtomic(outPath, JSON.stringify({ ok: false, error: { message: err.message ?? String(e), code: err.code, hint: err.hint, stack: err.stack } }));
  }
}
