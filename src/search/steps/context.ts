// The state one search shares between its steps: the candidates and their results, what measuring
// and building have cost so far, the time left, and why it stopped. Each step is a function of it.

import type { Pass } from '../../passes/pass.js';
import { StageCostModel, type StepKind } from '../schedule/cost-model.js';
import { chainKey } from '../schedule/chains.js';
import { configId } from '../space.js';
import type { SearchOptions } from '../strategy.js';
import type { CandidateConfig, CandidateResult, Sensitivity } from '../types.js';

/** Thrown to stop the search at the next boundary: a measurement budget reached, or Ctrl-C. */
export class Stop extends Error {}

export interface SearchContext {
  opts: SearchOptions;
  now: () => number;
  t0: number;
  results: Map<string, CandidateResult>;
  /** Candidate ids in the order they joined the search, the baseline first. */
  ids: string[];
  cfgOf: Map<string, CandidateConfig>;
  /** Lineage of extended chains: id → the id of the chain it extends. */
  parentOf: Map<string, string>;
  /** Built models by (sha256, session settings) → the first candidate that gave it. */
  twins: Map<string, string>;
  /** Wall time of screening and full measurements (training stages excluded). */
  cost: { screen: number[]; full: number[] };
  stages: StageCostModel;
  dropped: Map<string, string>;
  reused: number;
  measuredNow: number;
  sensitivity?: Sensitivity;
  stoppedEarly?: string;
}

export function kindOf(passes: readonly Pass[] | undefined): (name: string) => StepKind {
  return (name) => {
    const p = passes?.find((q) => q.name === name);
    return p?.role ?? (p?.prep ? 'prep' : 'transform');
  };
}

export function createContext(opts: SearchOptions): SearchContext {
  const now = opts.now ?? (() => Date.now());
  const ids = opts.configs.map(configId);
  return {
    opts,
    now,
    t0: now(),
    results: new Map(),
    ids,
    cfgOf: new Map(opts.configs.map((c, i) => [ids[i]!, c])),
    parentOf: new Map(),
    twins: new Map(),
    cost: { screen: [], full: [] },
    stages: new StageCostModel(kindOf(opts.passes), opts.stagePriors),
    dropped: new Map(),
    reused: 0,
    measuredNow: 0,
  };
}

export const baseIdOf = (ctx: SearchContext): string => ctx.ids[0]!;
/** Time left before the limit, for progress lines. */
export const timeLeft = (ctx: SearchContext): number => ctx.opts.timeLimitMs - (ctx.now() - ctx.t0);
/** Time the search may still plan for: the time left less what the caller measures after it (afterFull). */
export const left = (ctx: SearchContext): number => timeLeft(ctx) - (ctx.opts.afterFull ?? 0) * perFull(ctx);
const avg = (xs: number[], dflt: number) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : dflt);
/** Expected wall time of one screening (default 10 s before any was measured). */
export const perScreen = (ctx: SearchContext): number => avg(ctx.cost.screen, 10_000);
/**
 * Expected wall time of one full measurement (default 4 screenings, until one is timed: a screening
 * averages cheap and dear ones, and a full measurement's 8 fresh children each warm up for 500 ms; at 3
 * the default run planned 18 s a member, took 23 s, and ended at 925 s of its 900).
 */
export const perFull = (ctx: SearchContext): number => avg(ctx.cost.full, 4 * perScreen(ctx));

export function noteStop(ctx: SearchContext, why: string): void {
  ctx.stoppedEarly = (ctx.stoppedEarly ? ctx.stoppedEarly + '; ' : '') + why;
  ctx.opts.progress?.log(`  ${ctx.stoppedEarly}`);
}

/** Stops before a new measurement when the measurement budget is spent or the run was interrupted. */
export function checkStop(ctx: SearchContext): void {
  if (ctx.opts.signal?.aborted) throw new Stop(`interrupted: ${abortReason(ctx.opts.signal)}`);
  if (ctx.opts.maxNewMeasurements !== undefined && ctx.measuredNow >= ctx.opts.maxNewMeasurements)
    throw new Stop('stopped after the requested number of measurements');
}

function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return typeof r === 'string' ? r : r instanceof Error && r.name !== 'AbortError' ? r.message : 'stopped on request';
}

/** Adds a candidate (an extended chain) unless the same chain is already one; returns its id, or undefined for a duplicate. */
export function addCandidate(ctx: SearchContext, cfg: CandidateConfig, parentId?: string): string | undefined {
  const key = chainKey(cfg);
  for (const c of ctx.cfgOf.values()) if (chainKey(c) === key) return undefined;
  const id = configId(cfg);
  ctx.cfgOf.set(id, cfg);
  ctx.ids.push(id);
  if (parentId) ctx.parentOf.set(id, parentId);
  return id;
}
