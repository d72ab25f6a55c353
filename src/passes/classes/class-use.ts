// Which classes a task uses, read from the model on the task's own data: every class that is some
// frame's arg max, or reaches `minProb` on some frame. And how much of the probability those classes
// hold (the mass a narrowed head renormalises): the check that pruning the rest changes little.

import type * as ort from 'onnxruntime-node';
import type { Model } from '../../onnx/model.js';
import { createSession } from '../../runtime/session.js';
import type { Feeds } from '../pass.js';
import { toOrtFeeds } from '../quant/calibrate.js';

/** How the head's output holds its scores. */
export type ScoreKind = 'prob' | 'logprob' | 'logit';

export interface ClassUse {
  frames: number;
  samples: number;
  /** Per class: frames where it is the arg max. */
  top: Uint32Array;
  /**
   * Per class: its tokens, runs of consecutive frames of one sample with it as the arg max (a character
   * read by CTC; a classifier's frame is a sample, so there a token is one sample).
   */
  tokens: Uint32Array;
  /** Per class: its largest probability on any frame. */
  maxProb: Float32Array;
}

/** One frame's probabilities, in place of its scores. */
function toProb(row: Float32Array, kind: ScoreKind): Float32Array {
  if (kind === 'prob') return row;
  const p = new Float32Array(row.length);
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += p[i] = Math.exp((kind === 'logprob' ? row[i]! : row[i]! - max) as number);
  if (kind === 'logit') for (let i = 0; i < p.length; i++) p[i]! /= sum;
  return p;
}

/** Runs `model` over the stream (up to `maxSamples` samples) and calls `each` with every frame's probabilities. */
async function eachFrame(
  session: ort.InferenceSession,
  output: string,
  classes: number,
  kind: ScoreKind,
  stream: () => AsyncIterable<Feeds>,
  maxSamples: number,
  each: (p: Float32Array, sample: number) => void,
): Promise<{ frames: number; samples: number }> {
  let frames = 0;
  let samples = 0;
  for await (const feeds of stream()) {
    const r = await session.run(toOrtFeeds(feeds), [output]);
    const data = r[output]!.data as Float32Array;
    const rows = Math.max(1, r[output]!.dims[0] ?? 1);
    const perRow = Math.max(1, Math.floor(data.length / classes / rows));
    for (let f = 0, k = 0; f + classes <= data.length; f += classes, frames++, k++)
      each(toProb(data.subarray(f, f + classes), kind), samples + Math.floor(k / perRow));
    samples += rows;
    if (samples >= maxSamples) break;
  }
  return { frames, samples };
}

/** A session over the task's data for one class output: what each class gets, and the mass of a set. */
export class ClassScan {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly at: { output: string; classes: number; kind: ScoreKind },
    private readonly stream: () => AsyncIterable<Feeds>,
    private readonly maxSamples: number,
  ) {}

  static async open(model: Model, at: ClassScan['at'], stream: () => AsyncIterable<Feeds>, maxSamples: number): Promise<ClassScan> {
    return new ClassScan(await createSession(model, { threads: 1 }), at, stream, maxSamples);
  }

  private frames(each: (p: Float32Array, sample: number) => void) {
    const { output, classes, kind } = this.at;
    return eachFrame(this.session, output, classes, kind, this.stream, this.maxSamples, each);
  }

  /** Arg-max counts and largest probabilities per class over the stream. */
  async use(): Promise<ClassUse> {
    const n = this.at.classes;
    const top = new Uint32Array(n);
    const tokens = new Uint32Array(n);
    let prev = { sample: -1, best: -1 };
    const maxProb = new Float32Array(n);
    const seen = await this.frames((p, sample) => {
      let best = 0;
      for (let c = 0; c < n; c++) {
        if (p[c]! > p[best]!) best = c;
        if (p[c]! > maxProb[c]!) maxProb[c] = p[c]!;
      }
      top[best]!++;
      if (prev.sample !== sample || prev.best !== best) tokens[best]!++;
      prev = { sample, best };
    });
    return { ...seen, top, tokens, maxProb };
  }

  /** The probability the classes `k` hold per frame: mean and least over the stream. */
  async mass(k: readonly number[]): Promise<{ mean: number; min: number }> {
    let sum = 0;
    let min = 1;
    const seen = await this.frames((p) => {
      let m = 0;
      for (const c of k) m += p[c]!;
      sum += m;
      if (m < min) min = m;
    });
    return { mean: seen.frames ? sum / seen.frames : 0, min: seen.frames ? min : 0 };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/**
 * Good–Turing's estimate of the chance that a new token (a character read, or a classifier's sample) is
 * of a class no token here was: the tokens of classes seen exactly once, over all tokens. It is about
 * the share of characters a head narrowed to the classes seen would read wrong; high when the data are
 * too few to show the task's classes.
 */
export function unseenChance(use: ClassUse): number {
  let once = 0;
  let all = 0;
  for (const k of use.tokens) {
    all += k;
    if (k === 1) once++;
  }
  return all ? once / all : 1;
}

/** The classes to keep: every arg max, and every class reaching `minProb` on some frame; ascending. */
export function chooseClasses(use: ClassUse, minProb: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < use.top.length; c++) if (use.top[c]! > 0 || use.maxProb[c]! >= minProb) out.push(c);
  return out;
}
