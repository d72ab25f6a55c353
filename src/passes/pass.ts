// What a pass is: a pure function from a model and its parameters to a new model plus a record of
// what it did. Parameters are declared once, as data; CLI flags, config files and reports come from
// that declaration, and unknown parameters are an error.

import type { Model } from '../onnx/model.js';

export type ParamType = 'number' | 'integer' | 'boolean' | 'string' | 'enum' | 'string[]';

export interface ParamSpec {
  type: ParamType;
  description: string;
  default?: number | boolean | string | string[];
  /** Allowed values of an 'enum'. */
  values?: readonly string[];
  min?: number;
  max?: number;
  /**
   * Values of this parameter worth searching (pipeline search): each becomes a variant of the stage.
   * Absent: enum values and the flipped boolean are tried, numbers keep their default.
   */
  search?: { values: readonly (number | boolean | string)[] };
}

/** What a stage is to the search: a preparation, a graph transform, or a training stage (minutes, checkpointed). */
export type StageRole = 'prep' | 'transform' | 'train';

export type ParamValues = Record<string, number | boolean | string | string[] | undefined>;

/** One row of a pass's record: something it left alone, and why. */
export interface Skipped {
  node: string;
  opType: string;
  reason: string;
}

/** What a pass did; stored with every candidate so a report can trace it to its passes. */
export interface PassRecord {
  pass: string;
  params: ParamValues;
  /** Counts and facts: nodes quantized, bytes saved, … */
  stats: Record<string, number | string | boolean>;
  skipped: Skipped[];
  notes: string[];
}

/** How far outputs may move after the pass, for the conformance suite. */
export interface Tolerance {
  /** 'cosine': min cosine similarity of each output; 'maxAbs': max |a-b|; 'relL2': ||a-b|| / ||a||. */
  metric: 'cosine' | 'maxAbs' | 'relL2';
  value: number;
}

/** Named feeds for calibration: the caller streams them; a pass must not hold them all at once. */
export type Feeds = Record<string, { type: string; data: ArrayLike<number> | ArrayLike<bigint>; dims: readonly number[] }>;

/**
 * Samples for a training stage, back to back (n × prod(sampleShape)), fitted to the model's first input:
 * the task's labelled items, or unlabelled user data / generated items (then no labels).
 */
export interface StageData {
  x: Float32Array;
  sampleShape: number[];
  /** Class labels, one per sample, where the task has them and the output is one row of classes. */
  labels?: Int32Array;
  /**
   * OCR (CTC) tasks: per sample, its text as class indices of the task's alphabet (undefined: the text
   * has a character outside it), and the blank's index. A recovery stage then trains with the CTC loss.
   */
  sequences?: readonly (Int32Array | undefined)[];
  blank?: number;
}

export interface PassContext {
  /** Calibration / sensitivity data: a fresh stream on each call. */
  calibration?: () => AsyncIterable<Feeds>;
  log?: (line: string) => void;
  /** Seed of anything random a pass or stage does (data order); the same seed gives the same model. */
  seed?: number;
  /** Training stages stop at the next step boundary once this aborts, and return what they have. */
  signal?: AbortSignal;
  /** The same as `signal`, as a wall-clock time (epoch milliseconds). */
  deadline?: number;
  /** The source model of the run: the teacher a training stage distils from. */
  teacher?: Model;
  /** Training and validation samples for training stages (loaded only when a chain has one). */
  trainData?: StageData;
  valData?: StageData;
  /** Where a training stage keeps its checkpoint (resumed from when it matches). */
  checkpointDir?: string;
  /** Threads for training sessions (default 1). */
  threads?: number;
}

export interface Pass<P extends ParamValues = ParamValues> {
  name: string;
  description: string;
  params: Record<string, ParamSpec>;
  tolerance: Tolerance;
  /**
   * For a pass whose defaults change nothing by design (pruning at ratio 0): parameters under which it
   * must show an effect. The conformance suite runs them, requires a changed graph, and checks only the
   * outputs' sizes and finiteness, because such a pass moves values until a later recovery stage.
   */
  effect?: { params: ParamValues; why: string };
  /** Whether the pass needs ctx.calibration. */
  needsCalibration?: boolean;
  /**
   * A preparation pass (format changes that keep every value: opset upgrade, Constant nodes to
   * initializers, exporter folding). Every other pass transforms, and the conformance suite demands
   * that it visibly changes the models it applies to.
   */
  prep?: boolean;
  /** Its role in a chain (default: 'prep' when `prep`, else 'transform'). Training stages declare 'train'. */
  role?: StageRole;
  /**
   * Combinations of parameters worth searching together (pipeline search), tried right after the
   * defaults: one-at-a-time variants never reach a setting that pays only when several parameters move
   * at once (quantized depthwise convs need percentile ranges and uint8 HardSwish to be fast and exact).
   */
  presets?: readonly { tag: string; params: ParamValues; why: string }[];
  /** The parameter (a string[]) that names nodes kept in float, for sensitivity-driven exclusions. */
  keepFloatParam?: string;
  /**
   * An exact rewrite (values kept up to float rounding) worth running before the calibrated quantizers
   * too: the search tries each of their variants with and without it, so a report can tell how much of a
   * speed-up came from cleaning and how much from quantizing.
   */
  exactPrefix?: boolean;
  /**
   * A rewrite that fits the model to the task's data (prune-classes: the head's unused classes), worth
   * running before the calibrated quantizers: the search tries them after all the exact prefixes and
   * this, in place of after the exact prefixes alone (search/space.ts, quantPrefixes).
   */
  taskPrefix?: boolean;
  /**
   * Whether a run with these parameters reads ctx.trainData (and ctx.teacher), which a chain loads only
   * for steps that need it: training stages always, a transform when this says so (Taylor importance).
   */
  needsTrainData?: (params: ParamValues) => boolean;
  /** Parameters the pipeline search sets on every variant it builds of this pass (besides the searched one). */
  searchParams?: ParamValues;
  run(model: Model, params: P, ctx: PassContext): Promise<{ model: Model; record: PassRecord }>;
}
