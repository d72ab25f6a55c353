// What a chain will cost to build, predicted from what its stages cost so far in this run: the mean
// wall time per stage name for graph transforms, the mean time per step times the steps for training
// stages, and a prior before anything was measured. Steps already built (cached) cost nothing. Pure:
// the scheduler feeds it observations and asks it for predictions.

export interface StageStep {
  name: string;
  params: Record<string, unknown>;
}

/** How a step is built: a graph transform (seconds) or a training stage (minutes, cost ∝ steps). */
export type StepKind = 'transform' | 'train' | 'prep';

export interface CostPriors {
  /** A transform or preparation step never measured in this run (ms). */
  transformMs: number;
  /** One step of a training stage never measured in this run (ms). */
  trainStepMs: number;
}

export const DEFAULT_PRIORS: CostPriors = { transformMs: 5_000, trainStepMs: 500 };

/**
 * A training step costs about this many inferences per sample of its batch (forward, backward through
 * ORT's training graph, the teacher, the update): measured on PaddleOCR rec, batch 16, 6.3 s per step
 * against a 20 ms inference. The prior of a run is scaled from its baseline's latency with it.
 */
export const TRAIN_STEP_INFERENCES_PER_SAMPLE = 20;
export const TRAIN_BATCH = 16;

/** The steps of a training stage: its `steps` parameter (at least 1). */
export function trainSteps(step: StageStep): number {
  const s = Number(step.params.steps);
  return Number.isFinite(s) && s > 0 ? s : 1;
}

export interface ChainPrediction {
  /** Predicted build time of the uncached training stages (ms). */
  trainMs: number;
  /** Predicted build time of the uncached transforms and preparations (ms). */
  transformMs: number;
  /** Steps counted (uncached), by index into the chain. */
  uncached: number[];
}

export class StageCostModel {
  private readonly perStage = new Map<string, { ms: number; n: number }>();
  private readonly perTrainStep = new Map<string, { ms: number; steps: number }>();

  constructor(
    private readonly kindOf: (name: string) => StepKind,
    private priors: CostPriors = DEFAULT_PRIORS,
  ) {}

  /** One stage built (not from the cache) in `wallMs`. Training stages resumed from a checkpoint count only the steps they ran. */
  observe(step: StageStep, wallMs: number, resumedFromStep = 0): void {
    if (!(wallMs >= 0)) return;
    if (this.kindOf(step.name) === 'train') {
      const steps = Math.max(1, trainSteps(step) - resumedFromStep);
      const cur = this.perTrainStep.get(step.name) ?? { ms: 0, steps: 0 };
      this.perTrainStep.set(step.name, { ms: cur.ms + wallMs, steps: cur.steps + steps });
      return;
    }
    const cur = this.perStage.get(step.name) ?? { ms: 0, n: 0 };
    this.perStage.set(step.name, { ms: cur.ms + wallMs, n: cur.n + 1 });
  }

  /** Sets the training-step prior from the source model's inference time (never below the given prior). */
  priorFromInference(p50Ms: number): void {
    if (!(p50Ms > 0)) return;
    this.priors = { ...this.priors, trainStepMs: Math.max(this.priors.trainStepMs, p50Ms * TRAIN_BATCH * TRAIN_STEP_INFERENCES_PER_SAMPLE) };
  }

  isTrain(name: string): boolean {
    return this.kindOf(name) === 'train';
  }

  /** Predicted wall time of one step, built from scratch. */
  stepMs(step: StageStep): number {
    if (this.kindOf(step.name) === 'train') {
      const known = this.perTrainStep.get(step.name);
      return trainSteps(step) * (known ? known.ms / known.steps : this.priors.trainStepMs);
    }
    const known = this.perStage.get(step.name);
    return known ? known.ms / known.n : this.priors.transformMs;
  }

  /** Whether this stage name was measured in this run (else its prediction is the prior). */
  knows(name: string): boolean {
    return this.perStage.has(name) || this.perTrainStep.has(name);
  }

  /** The predicted cost of building a chain, counting only the steps that `cached` says are not built yet. */
  predict(steps: readonly StageStep[], cached: readonly boolean[] = []): ChainPrediction {
    const out: ChainPrediction = { trainMs: 0, transformMs: 0, uncached: [] };
    steps.forEach((s, i) => {
      if (cached[i]) return;
      out.uncached.push(i);
      if (this.kindOf(s.name) === 'train') out.trainMs += this.stepMs(s);
      else out.transformMs += this.stepMs(s);
    });
    return out;
  }
}
