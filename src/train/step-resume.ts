// The resume side of a step loop, shared by the training stages (distillation, CTC): restore weights,
// optimizer state and step from a checkpoint of the same run, and save one every N steps or M ms, and
// when the loop stops early. The data order of step k is a function of (seed, k), so a resumed run
// computes exactly what an uninterrupted one does.

import type { TsOptimizer } from './optimizers.js';
import { readStageCheckpoint, writeStageCheckpoint } from './stage-checkpoint.js';

export interface StepResumeOptions {
  checkpointDir?: string;
  /** Checkpoint every this many steps (default 25) or this many ms (default 20 000), whichever first. */
  checkpointSteps?: number;
  checkpointMs?: number;
}

export class StepResume {
  /** The step the loop starts at (0, or the checkpoint's). */
  readonly resumedFromStep: number;
  /** The probe loss before training: the checkpoint's, else set by the caller. */
  lossBefore: number | undefined;
  private readonly started = Date.now();
  private readonly elapsedBefore: number;
  private lastSave = Date.now();

  constructor(
    private readonly opts: StepResumeOptions,
    private readonly fingerprint: string,
    private readonly seed: number,
    private readonly ts: TsOptimizer,
  ) {
    const ck = opts.checkpointDir ? readStageCheckpoint(opts.checkpointDir, fingerprint) : undefined;
    if (ck) {
      for (const [k, w] of ck.weights.entries()) ts.params[k]!.set(w);
      for (const [k, slots] of ck.state.entries()) for (const [j, v] of slots.entries()) ts.state[k]![j]!.set(v);
      ts.step = ck.step;
    }
    this.resumedFromStep = ck?.step ?? 0;
    this.lossBefore = ck?.lossBefore;
    this.elapsedBefore = ck?.elapsedMs ?? 0;
  }

  /** Training wall time, that of the runs before the checkpoint included. */
  elapsedMs(): number {
    return this.elapsedBefore + (Date.now() - this.started);
  }

  save(step: number): void {
    if (!this.opts.checkpointDir) return;
    writeStageCheckpoint(this.opts.checkpointDir, {
      fingerprint: this.fingerprint,
      step,
      seed: this.seed,
      lossBefore: this.lossBefore ?? Number.NaN,
      elapsedMs: this.elapsedMs(),
      weights: this.ts.params,
      state: this.ts.state,
    });
    this.lastSave = Date.now();
  }

  /** After step `step` of `total`: saves when the period in steps or in time has passed (never after the last step). */
  afterStep(step: number, total: number): void {
    if (step < total && (step % (this.opts.checkpointSteps ?? 25) === 0 || Date.now() - this.lastSave >= (this.opts.checkpointMs ?? 20_000))) this.save(step);
  }
}

/** Why a loop stops before its next step: its signal aborted, or its deadline passed. */
export function stopReason(o: { signal?: AbortSignal; deadline?: number }): 'signal' | 'deadline' | undefined {
  if (o.signal?.aborted) return 'signal';
  if (o.deadline !== undefined && Date.now() >= o.deadline) return 'deadline';
  return undefined;
}
