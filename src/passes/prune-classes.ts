// Pass: prune-classes. A pretrained head often scores far more classes than a narrow task uses:
// PaddleOCR rec scores 6,625 characters for a line that prints 40. The classes the task's own data
// never picks (not an arg max, under `minProb` everywhere) are dropped from the head's weight, so its
// MatMul computes K columns instead of C; the output keeps its shape (classes/narrow-head.ts), so
// everything that reads it is unchanged. When the dropped classes hold more than 1 − minMass of the
// probability on the task's data, nothing is dropped: the head is not narrow on this task.

import { UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { ClassScan, chooseClasses, unseenChance, type ScoreKind } from './classes/class-use.js';
import { findClassHead, type ClassHead } from './classes/head.js';
import { narrowHead } from './classes/narrow-head.js';
import type { Pass, PassContext, PassRecord } from './pass.js';

export interface PruneClassesParams {
  [k: string]: number | string | undefined;
  minProb?: number;
  minMass?: number;
  maxUnseen?: number;
  samples?: number;
  output?: string;
}

const kindOf = (h: ClassHead): ScoreKind => (h.normalise?.opType === 'Softmax' ? 'prob' : h.normalise ? 'logprob' : 'logit');

/** The first graph output (or the named one) with a class head, or every reason there is none. */
function headOf(model: Model, name: string | undefined): ClassHead | string[] {
  const g = model.graph;
  const outs = name ? [name] : g.outputs.map((o) => o.name);
  if (name && !g.outputs.some((o) => o.name === name))
    throw new UsageError(`prune-classes: the model has no output '${name}'`, `its outputs are ${g.outputs.map((o) => o.name).join(', ')}`);
  const why: string[] = [];
  for (const o of outs) {
    const h = findClassHead(g, o, model.opset('') ?? 0);
    if (typeof h !== 'string') return h;
    why.push(h);
  }
  return why;
}

async function run(model: Model, p: PruneClassesParams, ctx: PassContext): Promise<{ model: Model; record: PassRecord }> {
  const record: PassRecord = { pass: 'prune-classes', params: { ...p }, stats: { classesPruned: 0 }, skipped: [], notes: [] };
  if (!ctx.calibration) throw new UsageError('prune-classes reads which classes a task uses from its data, and has none', 'give a task or a data folder');
  if ((model.opset('') ?? 0) < 11) {
    record.notes.push('left as is: the model is below opset 11 (the ScatterElements that restores the output width needs 11); run upgrade-opset first');
    return { model, record };
  }
  const head = headOf(model, p.output || undefined);
  if (Array.isArray(head)) {
    record.notes.push(`no class head: ${head.join('; ')}`);
    return { model, record };
  }
  const scan = await ClassScan.open(model, { output: head.output, classes: head.classes, kind: kindOf(head) }, ctx.calibration, p.samples ?? 64);
  try {
    const use = await scan.use();
    const kept = chooseClasses(use, p.minProb ?? 0.001);
    const unseen = unseenChance(use);
    Object.assign(record.stats, { classes: head.classes, frames: use.frames, samples: use.samples, unseenChance: unseen });
    if (unseen > (p.maxUnseen ?? 0.01)) {
      record.notes.push(
        `left as is: ${use.samples} samples are too few to tell which classes the task uses (a new character or sample would be of a class none of them showed with chance ≈ ${unseen.toFixed(3)}, by Good–Turing, over maxUnseen ${p.maxUnseen ?? 0.01}); give more calibration data`,
      );
      return { model, record };
    }
    if (kept.length >= head.classes) {
      record.notes.push(`every one of ${head.classes} classes is used on the task's data: nothing to drop`);
      return { model, record };
    }
    const mass = await scan.mass(kept);
    Object.assign(record.stats, { classesKept: kept.length, keptMassMean: mass.mean, keptMassMin: mass.min });
    if (mass.mean < (p.minMass ?? 0.99)) {
      record.notes.push(
        `left as is: the ${kept.length} classes the task uses hold ${(100 * mass.mean).toFixed(2)}% of the probability on its data, under minMass ${p.minMass ?? 0.99}`,
      );
      return { model, record };
    }
    narrowHead(model.graph, head, kept);
    record.stats.classesPruned = head.classes - kept.length;
    record.notes.push(
      `${head.output}: ${kept.length} of ${head.classes} classes kept (${use.frames} frames of ${use.samples} samples); they hold ${(100 * mass.mean).toFixed(3)}% of the probability on average, ${(100 * mass.min).toFixed(3)}% at least`,
    );
    return { model, record };
  } finally {
    await scan.release();
  }
}

export const pruneClassesPass: Pass<PruneClassesParams> = {
  name: 'prune-classes',
  description:
    "drops the head's classes the task's data never uses (arg max or probability ≥ minProb on some frame): the MatMul shrinks from C to K columns, the output keeps its shape and dropped classes read probability 0",
  params: {
    minProb: {
      type: 'number',
      description: 'a class is kept when some frame gives it at least this probability (or it is some arg max)',
      default: 0.001,
      min: 0,
      max: 1,
    },
    minMass: {
      type: 'number',
      description: 'leave the head as is unless the kept classes hold at least this share of the probability, on average over frames',
      default: 0.99,
      min: 0,
      max: 1,
    },
    maxUnseen: {
      type: 'number',
      description:
        "leave the head as is when the data are too few: Good–Turing's chance that a new token (a character read, a classifier's sample) is of a class unseen in the calibration data must be at most this",
      default: 0.01,
      min: 0,
      max: 1,
    },
    samples: { type: 'integer', description: 'calibration samples read', default: 64, min: 1 },
    output: { type: 'string', description: "the class output ('': the first output with a class head)", default: '' },
  },
  tolerance: { metric: 'cosine', value: 0.99 },
  needsCalibration: true,
  taskPrefix: true,
  run,
};
