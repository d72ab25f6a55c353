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
import type { CandidateConfig, Measurement } from './types.js';

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
    this.source ??= readModel(this.s.sourcePath);
    let model = this.source.clone();
    const records: PassRecord[] = [];
    for (const step of cfg.passes) {
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
    const w = writeModel(model, outPath);
    const bytes = readFileSync(outPath);
    return { records, sizeBytes: w.bytes + (w.externalBytes ?? 0), sha256: sha256Bytes(bytes) };
  }

  async measure(modelPath: string, cfg: CandidateConfig, stage: 'screen' | 'full'): Promise<Measurement> {
    const st = this.s[stage];
    const t0 = Date.now();
    const bench = await benchIsolated(modelPath, {
      threads: this.s.threads,
      graphOptimizationLevel: cfg.session.graphOptimizationLevel,
      disabledOptimizers: cfg.session.disabledOptimizers,
      ...(this.s.shapes ? { shapes: this.s.shapes } : {}),
      ...(this.s.batch ? { batch: this.s.batch } : {}),
      warmup: st.warmup,
      durationMs: st.durationMs,
      seed: 0,
      timeoutMs: st.durationMs + 5 * 60_000,
    });
    if (!bench.ok) throw new EdgefitError(`latency measurement failed (${bench.error.kind}): ${bench.error.message}`, bench.error.code, bench.error.hint);
    const req: QualityRequest = {
      modelPath,
      session: { threads: this.s.threads, graphOptimizationLevel: cfg.session.graphOptimizationLevel, disabledOptimizers: cfg.session.disabledOptimizers },
      ...(this.s.task ? { task: { ...this.s.task, limit: st.evalItems, split: 'test' as const } } : {}),
      reference: { modelPath: this.s.sourcePath, ...(this.s.shapes ? { shapes: this.s.shapes } : {}), count: Math.min(st.evalItems, this.s.agreementItems ?? st.evalItems) },
      batchSize: this.s.evalBatchSize,
    };
    const quality = await qualityIsolated(req);
    return {
      stage,
      latency: latencyFigures(bench.latency.samplesMs),
      quality,
      peakRssBytes: bench.peakRssBytes,
      coldStartMs: bench.coldStartMs,
      measuredAt: new Date().toISOString(),
      wallMs: Date.now() - t0,
    };
  }
}
