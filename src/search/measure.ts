// The real Measurer: builds a candidate by running its passes on the source model (verifying the IR
// after each), then measures latency with benchIsolated and quality with qualityIsolated, each in its
// own child process. Screening uses a short latency run and a slice of the eval set; full uses more.

import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, statSync } from 'node:fs';
import { benchIsolated } from '../bench/isolated.js';
import { EdgefitError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { verifyModel } from '../onnx/verify.js';
import { writeModel } from '../onnx/write-model.js';
import type { Feeds, Pass, PassRecord } from '../passes/pass.js';
import { validateParams } from '../passes/params.js';
import { qualityIsolated, type QualityRequest } from './quality.js';
import { latencyFigures } from './stats.js';
import type { Measurer } from './strategy.js';
import type { CandidateConfig, Measurement, Sensitivity } from './types.js';

export interface StageSettings {
  /** Latency: warm-up runs and measuring time. */
  warmup: number;
  durationMs: number;
  /** Quality: eval items. */
  evalItems: number;
}

export interface MeasureSettings {
  sourcePath: string;
  passes: readonly Pass[];
  threads: number;
  /** Input shapes for latency (symbolic dims), e.g. { x: [1, 3, 48, 320] }. */
  shapes?: Record<string, number[]>;
  batch?: number;
  task?: { ref: string; data?: string; seed: number };
  /** Calibration feeds for passes that need them. */
  calibration?: () => AsyncIterable<Feeds>;
  screen: StageSettings;
  full: StageSettings;
  evalBatchSize: number;
  /** Interleaved rounds of a group latency measurement (default 4). */
  rounds?: number;
  /** Items for agreement scoring when there is no task. */
  agreementItems?: number;
  log?: (line: string) => void;
}

export function sha256Bytes(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export class RealMeasurer implements Measurer {
  private source?: Model;

  constructor(private readonly s: MeasureSettings) {}

  async build(cfg: CandidateConfig, outPath: string): Promise<{ records: PassRecord[]; sizeBytes: number; sha256: string }> {
    if (cfg.passes.length === 0) {
      copyFileSync(this.s.sourcePath, outPath);
      return { records: [], sizeBytes: statSync(outPath).size, sha256: sha256Bytes(readFileSync(outPath)) };
    }
    const { model, records } = await this.apply(cfg, cfg.passes);
    const w = writeModel(model, outPath);
    const bytes = readFileSync(outPath);
    return { records, sizeBytes: w.bytes + (w.externalBytes ?? 0), sha256: sha256Bytes(bytes) };
  }

  /** The source with the given passes applied, verified after each. */
  private async apply(cfg: CandidateConfig, steps: CandidateConfig['passes']): Promise<{ model: Model; records: PassRecord[] }> {
    this.source ??= readModel(this.s.sourcePath);
    let model = this.source.clone();
    const records: PassRecord[] = [];
    for (const step of steps) {
      const pass = this.s.passes.find((p) => p.name === step.name);
      if (!pass) throw new EdgefitError(`candidate '${cfg.label}' names the pass '${step.name}', which is not registered`, 'E_PASS_MISSING');
      const params = validateParams(pass.name, pass.params, step.params);
      if (pass.needsCalibration && !this.s.calibration) throw new EdgefitError(`pass ${pass.name} needs calibration data and the run has no task`, 'E_NO_CALIBRATION', 'pass --task');
      const out = await pass.run(model, params, { ...(this.s.calibration ? { calibration: this.s.calibration } : {}), seed: 0, log: this.s.log });
      try {
        verifyModel(out.model);
      } catch (e) {
        throw new EdgefitError(`pass ${pass.name} broke the graph: ${(e as Error).message}`, 'E_PASS_BROKE_GRAPH');
      }
      model = out.model;
      records.push(out.record);
    }
    return { model, records };
  }

  /**
   * Per-node sensitivity of static quantization (quant-b's mixed-precision analysis): the agreement with
   * the float model bought back by keeping each node float, most first. Other passes: none.
   */
  async sensitivity(cfg: CandidateConfig, passName: string): Promise<Sensitivity | undefined> {
    if (passName !== 'quantize-static' || !this.s.calibration) return undefined;
    const idx = cfg.passes.findIndex((p) => p.name === passName);
    const step = cfg.passes[idx]!;
    const pass = this.s.passes.find((p) => p.name === passName)!;
    const { model } = await this.apply(cfg, cfg.passes.slice(0, idx));
    const { QualityProbe, mixedPrecision } = await import('../passes/quant/sensitivity.js');
    const probe = await QualityProbe.create(model, this.s.calibration, { maxSamples: 16, threads: this.s.threads });
    const params = validateParams(pass.name, pass.params, step.params);
    // An unreachable floor with no node kept float: just the table, no greedy walk.
    const r = await mixedPrecision(model, params, { calibration: this.s.calibration, seed: 0 }, probe, { floor: Infinity, maxFloat: 0, iterations: 5 });
    const metric = probe.defaultMetric;
    const rows = r.table
      .map((t) => ({ node: t.node, opType: t.opType, delta: t.gain, msCost: t.msCost }))
      .sort((a, b) => b.delta - a.delta);
    return { metric: `${metric} agreement with fp32`, rows };
  }

  async measure(modelPath: string, cfg: CandidateConfig, stage: 'screen' | 'full'): Promise<Measurement> {
    const [m] = await this.measureGroup([{ modelPath, cfg }], stage);
    return m!;
  }

  /**
   * Latency of several candidates measured in interleaved rounds (each round a fresh isolated child per
   * candidate, in rotating order), so that a change in the machine's load between candidates hits them
   * alike; then each candidate's quality in its own child. `quality` reuses a known quality figure.
   */
  async measureGroup(items: { modelPath: string; cfg: CandidateConfig; quality?: Measurement['quality'] }[], stage: 'screen' | 'full'): Promise<Measurement[]> {
    const st = this.s[stage];
    const rounds = items.length > 1 ? Math.max(1, this.s.rounds ?? 4) : 1;
    const acc = items.map(() => ({ samples: [] as number[], peak: 0, cold: undefined as number | undefined, ms: 0 }));
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < items.length; k++) {
        const i = (k + r) % items.length;
        const { modelPath, cfg } = items[i]!;
        const started = Date.now();
        const bench = await benchIsolated(modelPath, {
          threads: this.s.threads,
          graphOptimizationLevel: cfg.session.graphOptimizationLevel,
          disabledOptimizers: cfg.session.disabledOptimizers,
          ...(this.s.shapes ? { shapes: this.s.shapes } : {}),
          ...(this.s.batch ? { batch: this.s.batch } : {}),
          warmup: st.warmup,
          durationMs: st.durationMs / rounds,
          seed: 0,
          timeoutMs: st.durationMs + 5 * 60_000,
        });
        if (!bench.ok) throw new EdgefitError(`latency measurement of ${cfg.label} failed (${bench.error.kind}): ${bench.error.message}`, bench.error.code, bench.error.hint);
        const a = acc[i]!;
        a.samples.push(...bench.latency.samplesMs);
        a.peak = Math.max(a.peak, bench.peakRssBytes);
        a.cold ??= bench.coldStartMs;
        a.ms += Date.now() - started;
      }
    }
    const out: Measurement[] = [];
    for (let i = 0; i < items.length; i++) {
      const { modelPath, cfg } = items[i]!;
      const started = Date.now();
      const quality = items[i]!.quality ?? (await qualityIsolated(this.qualityRequest(modelPath, cfg, st)));
      const a = acc[i]!;
      out.push({
        stage,
        latency: latencyFigures(a.samples),
        quality,
        peakRssBytes: a.peak,
        ...(a.cold !== undefined ? { coldStartMs: a.cold } : {}),
        measuredAt: new Date().toISOString(),
        wallMs: a.ms + (Date.now() - started),
        ...(items.length > 1 ? { interleavedWith: items.filter((_, j) => j !== i).map((x) => x.cfg.label), rounds } : {}),
      });
    }
    return out;
  }

  private qualityRequest(modelPath: string, cfg: CandidateConfig, st: StageSettings): QualityRequest {
    return {
      modelPath,
      session: { threads: this.s.threads, graphOptimizationLevel: cfg.session.graphOptimizationLevel, disabledOptimizers: cfg.session.disabledOptimizers },
      ...(this.s.task ? { task: { ...this.s.task, limit: st.evalItems, split: 'test' as const } } : {}),
      reference: { modelPath: this.s.sourcePath, ...(this.s.shapes ? { shapes: this.s.shapes } : {}), count: Math.min(st.evalItems, this.s.agreementItems ?? st.evalItems) },
      batchSize: this.s.evalBatchSize,
    };
  }
}
