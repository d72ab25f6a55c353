// ONNX Runtime sessions with explicit settings: execution providers tried in order with every failure
// reported together (no silent fallback), intra-op threads (default 1, spinning off), graph
// optimization level, and export of ORT's optimized graph.

import * as ort from 'onnxruntime-node';
import { EdgefitError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { serializeModel } from '../onnx/write-model.js';

export type OptLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  /** Execution providers, in order of preference (default ['cpu']). */
  providers?: string[];
  /** Intra-op threads (default 1). */
  threads?: number;
  /** Inter-op threads (default 1). */
  interOpThreads?: number;
  /** Let idle worker threads spin (default false: spinning on a shared core costs more than it saves). */
  spinning?: boolean;
  graphOptimizationLevel?: OptLevel;
  /** Write ORT's optimized graph here. */
  optimizedModelPath?: string;
  /** ORT optimizers to switch off by name (e.g. 'MatMulAddFusion'). */
  disabledOptimizers?: string[];
  /** Extra session config entries (ORT's `session.*` keys). */
  config?: Record<string, string>;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

export class SessionError extends EdgefitError {
  constructor(message: string, hint?: string) {
    super(message, 'E_SESSION', hint);
    this.name = 'SessionError';
  }
}

export function ortVersion(): string {
  return (ort.env as { versions?: { common?: string } }).versions?.common ?? 'unknown';
}

export function toOrtOptions(opts: SessionOptions, provider: string): ort.InferenceSession.SessionOptions {
  const threads = opts.threads ?? 1;
  const config: Record<string, string> = {
    'session.intra_op.allow_spinning': opts.spinning ? '1' : '0',
    'session.inter_op.allow_spinning': opts.spinning ? '1' : '0',
    ...(opts.config ?? {}),
  };
  if (opts.disabledOptimizers?.length) config['optimization.disable_specified_optimizers'] = opts.disabledOptimizers.join(',');
  const o: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: opts.interOpThreads ?? 1,
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    logSeverityLevel: opts.logSeverityLevel ?? 3,
    extra: { session: {} },
  };
  // onnxruntime-node passes config entries through `extra` as dotted keys.
  (o as { extra: Record<string, unknown> }).extra = flattenToNested(config);
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
 * Opens a session on a model file, bytes, or an IR model. Providers are tried in order; if all fail,
 * one error lists each provider and why it failed.
 */
export async function createSession(model: string | Uint8Array | Model, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const source = typeof model === 'string' || model instanceof Uint8Array ? model : serializeModel(model);
  const providers = opts.providers?.length ? opts.providers : ['cpu'];
  const failures: string[] = [];
  for (const p of providers) {
    try {
      return typeof source === 'string' ? await ort.InferenceSession.create(source, toOrtOptions(opts, p)) : await ort.InferenceSession.create(source, toOrtOptions(opts, p));
    } catch (e) {
      failures.push(`[${p}] ${firstLine((e as Error).message)}`);
    }
  }
  const label = typeof model === 'string' ? model : 'the model';
  throw new SessionError(
    `ONNX Runtime could not load ${label} with any execution provider: ${failures.join('; ')}`,
    providers.length === 1 && providers[0] === 'cpu' ? 'the model uses an op or attribute ORT rejects; run `edgefit inspect` on it, or re-export at a supported opset' : 'check the provider names and that their libraries are installed',
  );
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.length > 400 ? line.slice(0, 400) + '…' : line;
}
