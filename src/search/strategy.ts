// The search strategy, as steps (each in src/search/steps/): the baseline first, then a short
// screening measurement of every candidate that fits the time left, dropping those that cannot meet
// the constraints or that another screened candidate clearly beats; refinement by per-node
// sensitivity; extension of the promising chains by one stage at a time (quantize, QAT, a longer
// recovery), each charged its predicted build cost; then full measurements of the promising ones
// (fastest first) until enough feasible ones are known or the time limit is near; then the choice.
// Results go to the run directory as they come, so a killed or interrupted run resumes.

import type { Constraint, LatencyStat } from './constraints.js';
import type { Choice } from './pareto.js';
import type { Progress } from './progress.js';
import type { RunDir } from './run-dir.js';
import type { Pass, PassRecord } from '../passes/pass.js';
import type { ChainPlan } from './schedule/chains.js';
import type { CostPriors } from './schedule/cost-model.js';
import type { CandidateConfig, CandidateResult, Comparison, Measurement, Sensitivity } from './types.js';
import { createContext, Stop } from './steps/context.js';
import { breadthFirst } from './steps/order.js';
import { measureBaseline, screenAll } from './steps/screen.js';
import { dropAtScreening, screenedOf } from './steps/drop.js';
import { refine, reportSensitivity } from './steps/refine.js';
import { extendChains } from './steps/extend.js';
import { measureInFull, promisingOf } from './steps/full.js';
import { finish } from './steps/choose.js';

export { SCREEN_MARGIN } from './steps/screen-figures.js';
export { noChangeWhy } from './steps/verdict.js';

/** What building a candidate gave: its pass records, the model's size and hash, and what each stage cost. */
export interface BuildResult {
  records: PassRecord[];
  sizeBytes: number;
  sha256: string;
  stageTimes?: CandidateResult['stageTimes'];
}

/** One step of a chain as the measurer's stage cache sees it: built already (cached) or not. */
export interface StagePlanRow {
  stage: string;
  key: string;
  cached: boolean;
}

/** How candidates are built and measured; the real one runs passes and isolated processes, tests fake it. */
export interface Measurer {
  /**
   * Builds a candidate's chain. `signal`: an interrupt (the build in flight is left to its checkpoint);
   * `deadline` (epoch ms): a training stage stops at a step boundary by then, and says so in its record.
   */
  build(cfg: CandidateConfig, outPath: string, opts?: { signal?: AbortSignal; deadline?: number }): Promise<BuildResult>;
  measure(modelPath: string, cfg: CandidateConfig, stage: 'screen' | 'full'): Promise<Measurement>;
  /**
   * Several candidates' full measurements with their latency taken in interleaved rounds, so that load
   * drift on a shared machine hits them alike. `quality` reuses a known quality figure.
   */
  measureGroup?(items: { modelPath: string; cfg: CandidateConfig; quality?: Measurement['quality'] }[], stage: 'screen' | 'full'): Promise<Measurement[]>;
  /** The sha256 the source model has when written by this toolkit unchanged: a pass that changed nothing gives it. */
  canonicalSha?(): Promise<string | undefined>;
  /** Per-node sensitivity of one pass of a candidate (most sensitive first), when the pass supports it. */
  sensitivity?(cfg: CandidateConfig, passName: string, timeoutMs: number): Promise<Sensitivity | undefined>;
  /** Which steps of a chain the stage cache already holds: the scheduler charges only the others. */
  stagePlan?(cfg: CandidateConfig): StagePlanRow[] | Promise<StagePlanRow[]>;
}

export interface SearchOptions {
  configs: CandidateConfig[];
  measurer: Measurer;
  runDir: RunDir;
  constraints: Constraint[];
  objective: LatencyStat;
  timeLimitMs: number;
  progress?: Progress;
  /** Full measurements to aim for among feasible candidates (default 3: the choice, a runner-up, one spare). */
  fullTarget?: number;
  /** The registered passes (roles, keep-float lists for exclusion variants after sensitivity). */
  passes?: readonly Pass[];
  /** Exclusion counts tried after sensitivity (default [1, 3, 6, 12]). */
  exclusionCounts?: number[];
  /** How promising chains are extended after screening (space.chainPlan); none: no extension. */
  chains?: ChainPlan;
  /** Stage build costs assumed before any was measured in this run. */
  stagePriors?: CostPriors;
  /** Stops the search at the next boundary (Ctrl-C); what was measured is kept and chosen from. */
  signal?: AbortSignal;
  /** Stop after this many new measurements (for tests of resume). */
  maxNewMeasurements?: number;
  /**
   * Full measurements the caller takes once the search returns (optimize's confirming rounds of the
   * source and the choice: 2). Their predicted time is kept from the start, so that the run as a whole
   * keeps its time limit.
   */
  afterFull?: number;
  now?: () => number;
}

export interface SearchOutcome {
  results: CandidateResult[];
  baseline: CandidateResult;
  choice: Choice;
  comparison?: Comparison;
  stoppedEarly?: string;
  elapsedMs: number;
  reused: number;
  measuredNow: number;
  sensitivity?: Sensitivity;
}

export async function search(opts: SearchOptions): Promise<SearchOutcome> {
  const ctx = createContext(opts);
  try {
    // 1. The baseline, fully: relative quality floors and the comparison need it.
    await measureBaseline(ctx);
    // 2. Screening, keeping enough time for full measurements of a few candidates: every family of
    //    candidates once before any family's second variant, so a short time limit still tries each pass.
    const rest = breadthFirst(ctx.ids.slice(1), (id) => ctx.cfgOf.get(id)!);
    await screenAll(ctx, rest);
    // 3. Drop at screening: sure misses and candidates clearly dominated.
    const screened = screenedOf(ctx, rest);
    dropAtScreening(ctx, screened);
    // 3b. A quantized candidate fast enough but below the quality floor: its most sensitive nodes kept in float.
    screened.push(...(await refine(ctx, screened)));
    // 3c. Promising chains one stage longer, while their predicted cost fits.
    const extended = await extendChains(ctx, screened);
    if (extended.length) {
      screened.push(...extended);
      dropAtScreening(ctx, screened);
    }
    // 4. Full measurements of the promising ones, fastest screening figure first.
    await measureInFull(ctx, promisingOf(ctx, screened));
    // 5. For the report: per-node sensitivity of the best fully measured candidate, when time is left.
    await reportSensitivity(ctx);
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    ctx.stoppedEarly = e.message;
  }
  opts.progress?.done();
  return finish(ctx);
}
