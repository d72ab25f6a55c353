// ONNX Runtime sessions with explicit settings: execution providers tried in order with every failure
// reported together (no silent fallback), intra-op threads (default 1, spinning off), graph
// optimization level, and export of ORT's optimized graph.

import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { serializeModel } from '../onnx/write-model.js';

export type OptLevel = 'disabled' | 'basic' | 'extended' | 'all';
export const OPT_LEVELS: readonly OptLevel[] = ['disabled', 'basic', 'extended', 'all'];

/** Provider names onnxruntime-node knows; which of them work depends on the build and the machine. */
export const KNOWN_PROVIDERS: readonly string[] = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml', 'qnn', 'xnnpack'];

export interface SessionOptions {
  /** Execution providers, in order of preference (default ['cpu']). Each is tried alone, in turn. */
  providers?: string[];
  /** Intra-op threads (default 1). */
  threads?: number;
  /** Inter-op threads (default 1). */
  interOpThreads?: number;
  /** Let idle worker threads spin (default false: spinning on a shared core costs more than it saves). */
  spinning?: boolean;
  /** ORT graph optimization level (default 'all'). */
  graphOptimizationLevel?: OptLevel;
  /** Write ORT's optimized graph here (an .onnx file). */
  optimizedModelPath?: string;
  /** ORT optimizers to switch off by name (e.g. 'MatMulAddFusion'). */
  disabledOptimizers?: string[];
  /** Extra session config entries (ORT's `session.*` keys). */
  config?: Record<string, string>;
  /** Per-session log severity: 0 verbose … 4 fatal (default 3: errors only). */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

export class SessionError extends EdgefitError {
  constructor(message: string, hint?: string, code = 'E_SESSION') {
    super(message, code, hint);
    this.name = 'SessionError';
  }
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The provider the session runs on. */
  provider: string;
  /** Providers tried before it, each with why it failed. */
  failures: ProviderFailure[];
}

export interface ProviderFailure {
  provider: string;
  reason: string;
}

export function ortVersion(): string {
  return (ort.env as { versions?: { common?: string } }).versions?.common ?? 'unknown';
}

/**
 * ORT's environment logger is created once per process, at the first session. It prints provider
 * failures (e.g. a missing CUDA library) to native stderr before the JS error arrives; those failures
 * reach the user through SessionError instead, so it is kept quiet unless EDGEFIT_ORT_LOG asks
 * otherwise ('verbose' | 'info' | 'warning' | 'error' | 'fatal').
 */
function quietOrtLogger(): void {
  const wanted = process.env.EDGEFIT_ORT_LOG;
  const levels = ['verbose', 'info', 'warning', 'error', 'fatal'];
  ort.env.logLevel = (wanted && levels.includes(wanted) ? wanted : 'fatal') as typeof ort.env.logLevel;
}
let loggerSet = false;

/** More intra-op threads than any machine this runs on; a larger value is a typo (ORT would try to start them all). */
export const MAX_THREADS = 256;

export function validateSessionOptions(opts: SessionOptions): void {
  const positiveInt = (v: number | undefined, name: string) => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1))
      throw new UsageError(`${name} must be a whole number ≥ 1, got ${v}`, `${name} counts threads; use 1 for the most stable latency`);
  };
  positiveInt(opts.threads, 'threads');
  if (opts.threads !== undefined && opts.threads > MAX_THREADS)
    throw new UsageError(`threads must be at most ${MAX_THREADS}, got ${opts.threads}`, 'use at most the number of cores; 1 gives the most stable latency');
  positiveInt(opts.interOpThreads, 'interOpThreads');
  if (opts.graphOptimizationLevel !== undefined && !OPT_LEVELS.includes(opts.graphOptimizationLevel))
    throw new UsageError(`graph optimization level must be one of ${OPT_LEVELS.join(', ')}; got '${opts.graphOptimizationLevel}'`);
  for (const p of opts.providers ?? [])
    if (!/^[a-z][a-z0-9_-]*$/i.test(p)) throw new UsageError(`'${p}' is not an execution provider name`, `known names: ${KNOWN_PROVIDERS.join(', ')}`);
}

export function toOrtOptions(opts: SessionOptions, provider: string): ort.InferenceSession.SessionOptions {
  const config: Record<string, string> = {
    'session.intra_op.allow_spinning': opts.spinning ? '1' : '0',
    'session.inter_op.allow_spinning': opts.spinning ? '1' : '0',
    ...(opts.config ?? {}),
  };
  if (opts.disabledOptimizers?.length) config['optimization.disable_specified_optimizers'] = opts.disabledOptimizers.join(',');
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: opts.interOpThreads ?? 1,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    logSeverityLevel: opts.logSeverityLevel ?? 3,
    // onnxruntime-node flattens `extra` back into dotted config keys.
    extra: flattenToNested(config),
  };
  if (opts.optimizedModelPath) o.optimizedModelFilePath = opts.optimizedModelPath;
  return o;
}

function flattenToNested(config: Record<string, string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const parts = key.split('.');
    let cur = root;
    for (const p of parts.slice(0, -1)) {
      if (typeof cur[p] !== 'object' || cur[p] === null) cur[p] = {};
      cur = cur[p] as Record<string, unknown>;
    }
    cur[parts[parts.length - 1]!] = value;
  }
  return root;
}

/**
 * Opens a session on a model file, bytes, or an IR model. Providers are tried in order, each alone;
 * if all fail, one SessionError lists each provider and why it failed.
 */
export async function createSession(model: string | Uint8Array | Model, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  return (await openSession(model, opts)).session;
}

/** createSession, plus which provider was used and which failed before it. */
export async function openSession(model: string | Uint8Array | Model, opts: SessionOptions = {}): Promise<OpenedSession> {
  validateSessionOptions(opts);
  if (!loggerSet) {
    quietOrtLogger();
    loggerSet = true;
  }
  const source = typeof model === 'string' || model instanceof Uint8Array ? model : serializeModel(model);
  const providers = opts.providers?.length ? opts.providers.map((p) => p.toLowerCase()) : ['cpu'];
  const failures: ProviderFailure[] = [];
  // ORT writes the optimized graph while it builds the session; write it beside the target and rename
  // on success, so a failure leaves no half-written file.
  const target = opts.optimizedModelPath;
  // ORT picks the format (ONNX or ORT) from the extension, so the temp name keeps it.
  const tmp = target ? join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}${extname(target)}`) : undefined;
  if (target && !existsSync(dirname(resolve(target))))
    throw new UsageError(`cannot write the optimized model to ${target}: its folder does not exist`, 'create the folder first, or give another path');
  if (target && existsSync(target) && statSync(target).isDirectory())
    throw new UsageError(`cannot write the optimized model to ${target}: it is a folder`, `give a file path, e.g. ${join(target, 'optimized.onnx')}`);
  if (target && typeof model === 'string' && resolve(target) === resolve(model))
    throw new UsageError(`the optimized model would be written over the model itself (${target})`, 'give another path for the optimized model');
  for (const provider of providers) {
    let session: ort.InferenceSession;
    try {
      const ortOpts = toOrtOptions({ ...opts, optimizedModelPath: tmp }, provider);
      session = typeof source === 'string' ? await ort.InferenceSession.create(source, ortOpts) : await ort.InferenceSession.create(source, ortOpts);
    } catch (e) {
      if (tmp) rmSync(tmp, { force: true });
      failures.push({ provider, reason: explain((e as Error).message) });
      continue;
    }
    if (tmp && target) renameSync(tmp, target);
    return { session, provider, failures };
  }
  const label = typeof model === 'string' ? model : 'the model';
  const list = failures.map((f) => `[${f.provider}] ${f.reason}`).join('; ');
  const onlyCpu = providers.length === 1 && providers[0] === 'cpu';
  if (onlyCpu)
    throw new SessionError(
      `ONNX Runtime rejected ${label}: ${failures[0]!.reason}`,
      'the model uses an op, attribute or opset ORT does not accept; run `edgefit inspect` on it, or re-export it at a supported opset',
      'E_ORT_REJECTED',
    );
  throw new SessionError(
    `ONNX Runtime could not open ${label} with any of the requested execution providers: ${list}`,
    `check the provider names (known: ${KNOWN_PROVIDERS.join(', ')}) and that their libraries are installed; add 'cpu' to the list to allow it explicitly`,
    'E_PROVIDERS',
  );
}

/** ORT's messages for a missing provider are long and indirect; say what they mean. */
function explain(message: string): string {
  const line = firstLine(message);
  if (/backend not found/i.test(line)) return `not available in this onnxruntime-node build`;
  if (/Failed to load shared library/i.test(line)) return `its shared library could not be loaded (${line})`;
  return line;
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.length > 400 ? line.slice(0, 400) + '…' : line;
}
