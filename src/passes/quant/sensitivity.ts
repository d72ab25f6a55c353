// Quality probes, per-node sensitivity and accuracy-driven mixed precision for static quantization.
// Quality is output agreement with the float model on held-out data (top-1 agreement for class
// scores, cosine otherwise), or a task metric when the caller gives one. Sensitivity of a node: the
// quality recovered by keeping only it in float. Mixed precision keeps in float the nodes that buy
// back the most quality per millisecond of measured latency, until the quality floor holds.

import type * as ort from 'onnxruntime-node';
import { measureLatency } from '../../bench/latency.js';
import type { Model } from '../../onnx/model.js';
import { createSession } from '../../runtime/session.js';
import type { Feeds, PassContext, ParamValues } from '../pass.js';
import { quantizeStatic, type StaticQuantResult } from '../quantize-static.js';
import { toOrtFeeds } from './calibrate.js';
import { argmax, cosine } from '../../util/vector.js';

export interface Agreement {
  /** Mean over samples of the cosine between the first outputs. */
  cosine: number;
  /** Share of samples whose argmax over the last axis agrees (class scores); NaN when not meaningful. */
  top1: number;
  n: number;
}

export type QualityMetric = 'cosine' | 'top1';

/** Reference outputs of the float model on held-out feeds; measures how closely another model agrees. */
export class QualityProbe {
  private constructor(
    readonly feeds: Record<string, ort.Tensor>[],
    private readonly reference: Float32Array[][],
    private readonly dims: number[][],
    readonly threads: number,
  ) {}

  static async create(model: Model | string, stream: () => AsyncIterable<Feeds>, opts: { maxSamples?: number; threads?: number } = {}): Promise<QualityProbe> {
    const threads = opts.threads ?? 1;
    const s = await createSession(model, { threads });
    const feeds: Record<string, ort.Tensor>[] = [];
    const ref: Float32Array[][] = [];
    let dims: number[][] = [];
    let n = 0;
    try {
      for await (const f of stream()) {
        const of = toOrtFeeds(f);
        const out = await s.run(of);
        feeds.push(of);
        const o = out[s.outputNames[0]!]!;
        ref.push(splitRows(o.data as Float32Array, o.dims as number[]));
        dims = [o.dims as number[]];
        n += (o.dims[0] as number | undefined) ?? 1;
        if (opts.maxSamples !== undefined && n >= opts.maxSamples) break;
      }
    } finally {
      await s.release();
    }
    return new QualityProbe(feeds, ref, dims, threads);
  }

  /** The metric that suits the model's first output: top-1 for [N, classes] scores, else cosine. */
  get defaultMetric(): QualityMetric {
    const d = this.dims[0] ?? [];
    return d.length === 2 && (d[1] ?? 0) > 1 ? 'top1' : 'cosine';
  }

  async measure(model: Model | Uint8Array): Promise<Agreement> {
    const s = await createSession(model, { threads: this.threads });
    let cos = 0;
    let agree = 0;
    let n = 0;
    try {
      for (let b = 0; b < this.feeds.length; b++) {
        const out = (await s.run(this.feeds[b]!))[s.outputNames[0]!]!;
        const rows = splitRows(out.data as Float32Array, out.dims as number[]);
        const ref = this.reference[b]!;
        for (let i = 0; i < rows.length; i++) {
          cos += cosine(ref[i]!, rows[i]!);
          agree += argmax(ref[i]!) === argmax(rows[i]!) ? 1 : 0;
          n++;
        }
      }
    } finally {
      await s.release();
    }
    const classy = this.defaultMetric === 'top1';
    return { cosine: n ? cos / n : NaN, top1: classy && n ? agree / n : NaN, n };
  }
}

function splitRows(data: Float32Array, dims: number[]): Float32Array[] {
  const rows = dims.length > 1 ? dims[0]! : 1;
  const per = data.length / rows;
  return Array.from({ length: rows }, (_, r) => data.slice(r * per, (r + 1) * per));
}

export interface SensitivityRow {
  node: string;
  opType: string;
  /** Quality with every node quantized except this one. */
  qualityWithoutIt: number;
  /** Quality bought back by keeping it float (vs. all quantized). */
  gain: number;
  /** Milliseconds (p50) the model gets slower when this node stays float; ≥ 0. */
  msCost: number;
  /** gain per ms: the order in which mixed precision keeps nodes float. */
  gainPerMs: number;
}

export interface MixedPrecisionOptions {
  /** Quality the result must keep (same scale as the metric: 0..1). */
  floor: number;
  metric?: QualityMetric;
  /** A task metric instead of agreement: higher is better. */
  quality?: (model: Model) => Promise<number>;
  /** Timed runs per variant for the cost in ms (default 15). */
  iterations?: number;
  /** Give up after keeping this many nodes float (default: all). */
  maxFloat?: number;
  log?: (line: string) => void;
}

export interface MixedPrecisionResult {
  result: StaticQuantResult;
  /** Nodes kept in float by the search (beyond the user's own exclusions). */
  keptFloat: string[];
  table: SensitivityRow[];
  fullyQuantizedQuality: number;
  quality: number;
  floorMet: boolean;
}

export interface SensitivityOptions {
  metric?: QualityMetric;
  /** A task metric instead of agreement: higher is better. */
  quality?: (model: Model) => Promise<number>;
  /** Timed runs per variant for the cost in ms (default 15). */
  iterations?: number;
  log?: (line: string) => void;
  /** The fully quantized model, when the caller has it already (saves a calibration). */
  full?: StaticQuantResult;
}

export interface SensitivityResult {
  /** Rows in gain-per-ms order, highest first. */
  table: SensitivityRow[];
  /** The model with every node quantized, its quality and p50 latency. */
  full: StaticQuantResult;
  fullyQuantizedQuality: number;
  fullyQuantizedMs: number;
  metric: QualityMetric | 'task';
}

/**
 * The per-node sensitivity table: for each quantized Conv / MatMul / Gemm, the quality and latency of
 * the model with every node quantized except it. Calibration runs once; every variant reuses the
 * ranges of the full quantization. The optimize report plots this table.
 */
export async function measureSensitivity(
  model: Model,
  params: ParamValues,
  ctx: PassContext,
  probe: QualityProbe,
  opts: SensitivityOptions = {},
): Promise<SensitivityResult> {
  const metric = opts.metric ?? probe.defaultMetric;
  const quality = opts.quality ?? (async (m: Model) => pick(await probe.measure(m), metric));
  const baseKeep = (params.keepFloat ?? []) as string[];
  const full = opts.full ?? (await quantizeStatic(model, params, ctx));
  const pre = { ranges: full.ranges };
  const q0 = await quality(full.model);
  const feeds = probe.feeds[0]!;
  const latency = async (m: Model) => {
    const s = await createSession(m, { threads: probe.threads });
    try {
      return (await measureLatency(s, feeds, { warmup: 2, iterations: opts.iterations ?? 15 })).p50;
    } finally {
      await s.release();
    }
  };
  const t0 = await latency(full.model);
  const opTypeOf = new Map(model.graph.nodes.map((n) => [n.name, n.opType]));
  const candidates = full.quantized.filter((n) => ['Conv', 'MatMul', 'Gemm'].includes(opTypeOf.get(n) ?? ''));
  const table: SensitivityRow[] = [];
  for (const node of candidates) {
    const v = await quantizeStatic(model, { ...params, keepFloat: [...baseKeep, node] }, ctx, pre);
    const q = await quality(v.model);
    const ms = Math.max(0, (await latency(v.model)) - t0);
    const gain = q - q0;
    table.push({ node, opType: opTypeOf.get(node)!, qualityWithoutIt: q, gain, msCost: ms, gainPerMs: gain / Math.max(ms, 1e-3) });
    opts.log?.(`sensitivity ${node}: quality ${q.toFixed(4)} (${gain >= 0 ? '+' : ''}${gain.toFixed(4)}), +${ms.toFixed(3)} ms`);
  }
  table.sort((a, b) => b.gainPerMs - a.gainPerMs);
  return { table, full, fullyQuantizedQuality: q0, fullyQuantizedMs: t0, metric: opts.quality ? 'task' : metric };
}

/**
 * Mixed precision: if the fully quantized model misses the floor, walk the sensitivity table in
 * gain-per-ms order, keeping nodes float until the floor holds.
 */
export async function mixedPrecision(
  model: Model,
  params: ParamValues,
  ctx: PassContext,
  probe: QualityProbe,
  opts: MixedPrecisionOptions,
): Promise<MixedPrecisionResult> {
  const metric = opts.metric ?? probe.defaultMetric;
  const quality = opts.quality ?? (async (m: Model) => pick(await probe.measure(m), metric));
  const log = opts.log ?? (() => {});
  const baseKeep = (params.keepFloat ?? []) as string[];
  const full = await quantizeStatic(model, params, ctx);
  const q0 = await quality(full.model);
  log(`all quantized: ${metric} ${q0.toFixed(4)} (floor ${opts.floor})`);
  if (q0 >= opts.floor) return { result: full, keptFloat: [], table: [], fullyQuantizedQuality: q0, quality: q0, floorMet: true };
  const s = await measureSensitivity(model, params, ctx, probe, { ...opts, metric, quality, full });
  const pre = { ranges: s.full.ranges };
  const kept: string[] = [];
  let best = s.full;
  let q = s.fullyQuantizedQuality;
  for (const row of s.table) {
    // Rows without a gain of their own still go in order: errors add up, so once the big ones are
    // float, the small ones can be what stands between the model and the floor.
    if (kept.length >= (opts.maxFloat ?? Infinity)) break;
    kept.push(row.node);
    best = await quantizeStatic(model, { ...params, keepFloat: [...baseKeep, ...kept] }, ctx, pre);
    q = await quality(best.model);
    log(`kept float: ${kept.join(', ')} → ${metric} ${q.toFixed(4)}`);
    if (q >= opts.floor) break;
  }
  best.record.notes.push(
    `mixed precision: kept ${kept.length} node(s) float for ${metric} ≥ ${opts.floor}: ${q.toFixed(4)} (all quantized: ${s.fullyQuantizedQuality.toFixed(4)})`,
  );
  return { result: best, keptFloat: kept, table: s.table, fullyQuantizedQuality: s.fullyQuantizedQuality, quality: q, floorMet: q >= opts.floor };
}

export function pick(a: Agreement, metric: QualityMetric): number {
  return metric === 'top1' && !Number.isNaN(a.top1) ? a.top1 : a.cosine;
}
