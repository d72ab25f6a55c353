// The real Measurer: builds a candidate by running its passes on the source model (verifying the IR
// after each), then measures latency with benchIsolated and quality with qualityIsolated, each in its
// own child process. Screening uses a short latency run and a slice of the eval set; full uses more.

import { createHash } from 'node:crypto';
import type { OutputKind } from '../eval/agreement.js';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchIsolated } from '../bench/isolated.js';
import { EdgefitError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { serializeModel } from '../onnx/write-model.js';
import type { Feeds, Pass, PassContext } from '../passes/pass.js';
import { runWorker } from './child.js';
import { qualityIsolated, type QualityRequest } from './quality.js';
import type { SensitivityRequest } from './sensitivity.js';
import type { BuildRequest, BuildResult } from './build.js';
import { buildChain, cachedPrefix, chainKeys, sha256File, StageCache, writeChainResult } from './stage-cache.js';
import { latencyFigures } from './stats.js';
import { needsTrainingContext } from './space.js';
import type { UserDataRef } from '../data/user-data.js';

/**
 * Interleaved rounds of a full group measurement. This machine switches between a fast and a slow state
 * for about 1 s at a time, up to 7 s (`npm run bench -- machine-states`: PaddleOCR rec fp32 window
 * medians 15.2 vs 18.4 ms), so a round must be short enough that each candidate sees both states
 * alike: 8 rounds of an 8 s measurement are 1 s slots (each after its child's 500 ms warm-up).
 */
export const FULL_ROUNDS = 8;

/** Most latency samples kept per candidate and stage. */
export const MAX_SAMPLES = 20_000;
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
  /** The user's data when there is no task: calibration on its calibration part, agreement on its held-out part. */
  userData?: UserDataRef;
  /** Fixed input values (--value), for latency and random-input agreement. */
  values?: Record<string, number>;
  /** What each output is, as the quality plan settled it (agreement metrics per output). */
  outputKinds?: Record<string, OutputKind>;
  /** Calibration feeds for passes that need them. */
  calibration?: () => AsyncIterable<Feeds>;
  screen: StageSettings;
  full: StageSettings;
  evalBatchSize: number;
  /** Calibration items (for the sensitivity worker, which rebuilds the calibration stream). */
  calibrationItems?: number;
  /** Interleaved rounds of a group latency measurement (default FULL_ROUNDS). */
  rounds?: number;
  /** Items for agreement scoring when there is no task. */
  agreementItems?: number;
  log?: (line: string) => void;
  /**
   * The stage cache (<runDir>/stages): each step of a chain is built once and stored under its content
   * key, so chains sharing a prefix reuse it and a killed build resumes at the first unbuilt step.
   */
  stageDir?: string;
  /**
   * What a stage's build depends on beyond its parent, step and parameters (edgefit's code, the data
   * that calibrate and train, the seed), folded into the source's key: other settings, other entries.
   */
  stageContext?: string;
  /** Seed of passes and training stages (default: the task's seed, else 0). */
  seed?: number;
  /** Samples a training stage trains on (default 256). */
  trainItems?: number;
}

/** One step of a chain as the scheduler sees it: its cache key and whether it is already built. */
export interface PlannedStage {
  stage: string;
  key: string;
  cached: boolean;
}

export function sha256Bytes(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export class RealMeasurer implements Measurer {
  private source?: Model;

  constructor(private readonly s: MeasureSettings) {}

  /**
   * Builds the candidate's chain step by step. Registered passes and stages run in a child process
   * (build-worker); passes handed in by a caller that are not in the registry can only run here.
   * `deadline` (epoch ms) stops a training stage at a step boundary: its output is then not cached.
   */
  async build(cfg: CandidateConfig, outPath: string, opts: { deadline?: number; signal?: AbortSignal } = {}): Promise<BuildResult> {
    if (opts.signal?.aborted) throw new Error('interrupted before the build started');
    if (cfg.passes.length === 0) {
      copyFileSync(this.s.sourcePath, outPath);
      return { records: [], sizeBytes: statSync(outPath).size, sha256: sha256Bytes(readFileSync(outPath)), stageTimes: [] };
    }
    const { PASSES } = await import('../passes/registry.js');
    const registered = cfg.passes.every((st) => PASSES.some((p) => p.name === st.name && this.s.passes.includes(p)));
    if (registered) {
      const req: BuildRequest = {
        sourcePath: this.s.sourcePath,
        steps: cfg.passes,
        label: cfg.label,
        outPath,
        ...(this.s.task ? { task: this.s.task } : {}),
        ...(this.s.userData && !this.s.task ? { userData: this.s.userData } : {}),
        calibrationItems: this.s.calibrationItems ?? 32,
        ...(this.s.stageDir ? { stageDir: this.s.stageDir, sourceKey: this.sourceKey() } : {}),
        seed: this.seed(),
        threads: this.s.threads,
        ...(this.s.trainItems ? { trainItems: this.s.trainItems } : {}),
        ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
      };
      return runWorker('build-worker', req, 60 * 60_000, `building ${cfg.label}`);
    }
    this.source ??= readModel(this.s.sourcePath);
    const src = this.source;
    const ctx: PassContext = {
      seed: this.seed(),
      threads: this.s.threads,
      ...(this.s.calibration ? { calibration: this.s.calibration } : {}),
      ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
    };
    const r = await buildChain({
      source: () => src,
      sourceKey: this.sourceKey(),
      steps: cfg.passes,
      passes: this.s.passes,
      ...(this.s.stageDir ? { cache: new StageCache(this.s.stageDir) } : {}),
      context: async () => ctx,
      label: cfg.label,
    });
    return { records: r.records, stageTimes: r.stageTimes, ...writeChainResult(r, outPath) };
  }

  /** The chain's steps with their cache keys and whether each is built: what is left to pay for. */
  stagePlan(cfg: CandidateConfig): PlannedStage[] {
    const keys = chainKeys(this.sourceKey(), cfg.passes);
    const cache = this.s.stageDir ? new StageCache(this.s.stageDir) : undefined;
    return cfg.passes.map((st, k) => ({ stage: st.name, key: keys[k]!, cached: cachedPrefix(cache, keys.slice(0, k + 1)) === k + 1 }));
  }

  async canonicalSha(): Promise<string | undefined> {
    this.source ??= readModel(this.s.sourcePath);
    return sha256Bytes(serializeModel(this.source));
  }

  private sourceSha?: string;
  private sourceKey(): string {
    if (this.sourceSha) return this.sourceSha;
    const file = sha256File(this.s.sourcePath);
    this.sourceSha = this.s.stageContext === undefined ? file : createHash('sha256').update(`${file}\n${this.s.stageContext}`).digest('hex');
    return this.sourceSha;
  }

  private seed(): number {
    return this.s.seed ?? this.s.task?.seed ?? 0;
  }

  /**
   * Per-node sensitivity of static quantization (quant-b's mixed-precision analysis), in a child process
   * stopped after `timeoutMs`: the agreement with the float model bought back by keeping each node float.
   */
  async sensitivity(cfg: CandidateConfig, passName: string, timeoutMs = 5 * 60_000): Promise<Sensitivity | undefined> {
    if (passName !== 'quantize-static' || !this.s.task) return undefined;
    const idx = cfg.passes.findIndex((p) => p.name === passName);
    let base: { sourcePath: string; prefix: CandidateConfig['passes']; done?: () => void };
    try {
      base = await this.sensitivityBase(cfg, cfg.passes.slice(0, idx));
    } catch (e) {
      this.s.log?.(`sensitivity of ${cfg.label} not measured: its prefix did not build: ${(e as Error).message}`);
      return undefined;
    }
    const req: SensitivityRequest = {
      sourcePath: base.sourcePath,
      prefix: base.prefix,
      pass: cfg.passes[idx]!,
      threads: this.s.threads,
      task: this.s.task,
      calibrationItems: this.s.calibrationItems ?? 32,
      probeSamples: 8,
    };
    try {
      return await runWorker<Sensitivity>('sensitivity-worker', req, timeoutMs, `the sensitivity analysis of ${cfg.label}`);
    } catch (e) {
      this.s.log?.(`sensitivity of ${cfg.label} not measured: ${(e as Error).message}`);
      return undefined;
    } finally {
      base.done?.();
    }
  }

  /**
   * What the sensitivity worker starts from: the source and the prefix as they are, or, when the prefix
   * has a training stage (which needs a teacher and samples the worker does not load), the prefix built
   * here first (through the stage cache when there is one) and read as the source.
   */
  private async sensitivityBase(
    cfg: CandidateConfig,
    prefix: CandidateConfig['passes'],
  ): Promise<{ sourcePath: string; prefix: CandidateConfig['passes']; done?: () => void }> {
    const { findPass } = await import('../passes/registry.js');
    if (
      !prefix.some((st) => {
        const p = findPass(st.name);
        return p && needsTrainingContext(p, st.params);
      })
    )
      return { sourcePath: this.s.sourcePath, prefix };
    const key = chainKeys(this.sourceKey(), prefix).at(-1)!;
    const cache = this.s.stageDir ? new StageCache(this.s.stageDir) : undefined;
    if (cache?.get(key)) return { sourcePath: cache.onnxPath(key), prefix: [] };
    const dir = mkdtempSync(join(tmpdir(), 'edgefit-prefix-'));
    const path = join(dir, 'prefix.onnx');
    await this.build({ ...cfg, label: `${cfg.label} (prefix)`, passes: prefix }, path);
    return { sourcePath: path, prefix: [], done: () => rmSync(dir, { recursive: true, force: true }) };
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
    // A full measurement takes its rounds even alone (the baseline's, at the start): the same fresh
    // children as in a group, so its figures and its cost (which plans the groups) are like theirs
    const rounds = stage === 'full' ? Math.max(1, this.s.rounds ?? FULL_ROUNDS) : items.length > 1 ? 2 : 1;
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
          ...(this.s.values && Object.keys(this.s.values).length ? { values: this.s.values } : {}),
          warmup: st.warmup,
          durationMs: st.durationMs / rounds,
          // enough for stable tail quantiles; a 10 µs model would otherwise give ~10^5 samples a second,
          // each one stored in result.json and summary.json and resampled by the bootstrap
          maxIterations: Math.ceil(MAX_SAMPLES / rounds),
          seed: 0,
          timeoutMs: st.durationMs + 5 * 60_000,
        });
        if (!bench.ok)
          throw new EdgefitError(
            `latency measurement of ${cfg.label} failed (${bench.error.kind}): ${bench.error.message}`,
            bench.error.code,
            bench.error.hint,
          );
        const a = acc[i]!;
        for (const v of bench.latency.samplesMs) a.samples.push(v); // not push(...): a fast model gives 10^5+ samples, past the argument limit
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
      reference: {
        modelPath: this.s.sourcePath,
        ...(this.s.shapes ? { shapes: this.s.shapes } : {}),
        ...(this.s.values && Object.keys(this.s.values).length ? { values: this.s.values } : {}),
        ...(this.s.userData ? { userData: this.s.userData } : {}),
        ...(this.s.outputKinds ? { kinds: this.s.outputKinds } : {}),
        count: Math.min(st.evalItems, this.s.agreementItems ?? st.evalItems),
      },
      batchSize: this.s.evalBatchSize,
    };
  }
}
