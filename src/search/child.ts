// Runs one of the search's worker scripts (quality, sensitivity) in a child process: the request goes in
// as a JSON file, the answer comes back as a JSON file. A crash, a timeout or an out-of-memory kill
// becomes an EdgefitError here; nothing in the child can take the search down.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { writeFileAtomic } from '../onnx/write-model.js';
import { nodeScriptArgs } from '../util/node-script.js';

export async function runWorker<T>(name: string, request: unknown, timeoutMs: number, what: string): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `edgefit-${name}-`));
  const reqPath = join(dir, 'request.json');
  const outPath = join(dir, 'result.json');
  writeFileSync(reqPath, JSON.stringify(request));
  try {
    const { code, signal, stderr, timedOut } = await new Promise<{ code: number | null; signal: string | null; stderr: string; timedOut: boolean }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, [...nodeScriptArgs(import.meta.url, name), reqPath, outPath], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        let timedOut = false;
        child.stderr.on('data', (d: Buffer) => {
          err = (err + d.toString()).slice(-4000);
        });
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeoutMs);
        child.on('error', reject);
        child.on('close', (c, s) => {
          clearTimeout(timer);
          resolve({ code: c, signal: s, stderr: err, timedOut });
        });
      },
    );
    if (!existsSync(outPath)) {
      const why = timedOut
        ? `took longer than ${Math.round(timeoutMs / 1000)} s and was stopped`
        : signal === 'SIGKILL'
          ? 'was killed (out of memory?)'
          : `exited with ${signal ?? code}`;
      throw new EdgefitError(
        `${what} ${why}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
        timedOut ? 'E_WORKER_TIMEOUT' : 'E_WORKER_CRASH',
      );
    }
    const r = JSON.parse(readFileSync(outPath, 'utf8')) as { ok: true; value: T } | { ok: false; error: { message: string; code?: string; hint?: string } };
    if (!r.ok) throw new EdgefitError(r.error.message, r.error.code ?? 'E_WORKER', r.error.hint);
    return r.value;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The child's side: reads the request, runs `fn`, writes the answer (or the error) atomically. */
export async function serveWorker<Q, T>(fn: (req: Q) => Promise<T>): Promise<void> {
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
