// Calibrates the cascade on the task's validation data: each item runs on the fast model (the last
// rung) and the accurate one (the first), and the threshold is the lowest confidence that keeps the
// final answers' agreement with the accurate model at the target. Two answers agree as the task
// compares them: texts with all whitespace removed when the task's spec says `ignoreWhitespace`.

import { loadTask, type LoadTaskOptions } from '../data/task.js';
import type { TaskSpec } from '../data/spec.js';
import { DataError } from '../data/errors.js';
import { stripWhitespace } from '../eval/metrics.js';
import { UsageError } from '../onnx/errors.js';
import { cascadeConfidence, type CascadeConfidence, type Decoded } from './decode-result.js';
import type { Engine } from './engine.js';
import { preprocessed } from './image-input.js';
import { calibrateThreshold, type Calibration, type CascadeSample } from './cascade.js';

const answer = (d: Decoded, ignoreWhitespace: boolean) =>
  d.kind === 'text' ? (ignoreWhitespace ? stripWhitespace(d.text) : d.text) : d.kind === 'label' ? d.label : JSON.stringify(d.embedding);

/** Whether the fast model's answer counts as the accurate one's, as the task compares answers. */
export function sameAnswer(a: Decoded, b: Decoded, spec: Pick<TaskSpec, 'ignoreWhitespace'>): boolean {
  const ws = spec.ignoreWhitespace ?? false;
  return answer(a, ws) === answer(b, ws);
}

/**
 * The fast model's (the last rung) and the accurate model's (the first) answers on each image of the
 * task's items chosen by `opts` (the calibration takes the validation split).
 */
export async function answerPairs(engine: Engine, taskRef: string | TaskSpec, opts: LoadTaskOptions): Promise<{ fast: Decoded; accurate: Decoded }[]> {
  const spec = engine.spec;
  const decode = engine.decoder;
  if (!spec || spec.preprocess.kind !== 'image' || !decode)
    throw new UsageError('the cascade needs an image task (text or label answers with a confidence)', 'pass --task');
  if (engine.ladder.length < 2)
    throw new UsageError('the cascade needs two models: the accurate one first, the fast one last', 'give two models, or a run directory with a ladder.json');
  const preprocess = spec.preprocess;
  const task = await loadTask(taskRef, opts);
  const out: { fast: Decoded; accurate: Decoded }[] = [];
  for (const item of task.itemList()) {
    const loaded = await item.load();
    if (loaded.kind !== 'image') throw new DataError(`the cascade calibration needs images; task '${task.name}' gives ${loaded.kind}`);
    // each run gets its own input: a run hands its buffers over to the worker thread
    const answer = async (rung: number) =>
      decode((await engine.pool.run(0, engine.ladder[rung]!.id, preprocessed(loaded.image, preprocess, engine.input))).outputs);
    out.push({ fast: await answer(engine.ladder.length - 1), accurate: await answer(0) });
  }
  return out;
}

export async function calibrateCascade(
  engine: Engine,
  taskRef: string | TaskSpec,
  target: number,
  n = 200,
  seed = 0,
  measure: CascadeConfidence = 'least',
): Promise<Calibration> {
  const pairs = await answerPairs(engine, taskRef, { split: 'val', limit: n, seed });
  const samples: CascadeSample[] = pairs.map((p) => ({ confidence: cascadeConfidence(p.fast, measure), agree: sameAnswer(p.fast, p.accurate, engine.spec!) }));
  return calibrateThreshold(samples, target);
}

/**
 * What the calibration found, and what it promises on new requests. `asked`: the validation items
 * asked for; fewer came back when the task's validation split is smaller.
 */
export function describeCalibration(c: Calibration, accurate: string, target: number, asked: number): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const head = `cascade: threshold ${c.threshold.toFixed(4)} → agreement ${c.agreement.toFixed(4)} with ${accurate} on ${c.n} validation items, ${pct(c.escalated)} escalated`;
  if (c.threshold !== Infinity) return `${head}; at least ${pct(c.expected)} expected on new ones (conformal risk control)`;
  const cannot = `${head}: ${c.n} items cannot show ${pct(target)} agreement on new ones, so every request goes to both models`;
  if (c.n < c.needed && c.n < asked)
    return `${cannot}; the task's validation split holds only ${c.n} items and ${c.needed} are needed: give the task more labelled items or a larger "val" share (data.splits in the spec), or a lower --cascade-agreement`;
  if (c.n < c.needed) return `${cannot}; pass --cascade-samples ${c.needed} or more, or a lower --cascade-agreement`;
  return `${head}: no threshold reaches ${pct(target)}, so every request goes to both models; lower --cascade-agreement, or use a fast model that agrees more often`;
}
