// How an optimize run will judge quality, settled before any work: the task's metric, or agreement with
// the source model on the held-out part of the user's data (--data), or — last resort — on random
// inputs. It runs the source once on a few feeds to see what each output is (class scores, a decision,
// a map, dense), so that the default floor fits and a --quality that names a metric the outputs cannot
// give is refused now, not after the search.

import type * as ort from 'onnxruntime-node';
import { openUserData, type UserDataRef } from '../data/user-data.js';
import type { TaskSpec } from '../data/spec.js';
import { DEFAULT_FLOORS, FLOORED, METRICS_OF, outputKind, splitItems, type OutputKind } from '../eval/agreement.js';
import { checkOutputNames } from '../eval/output-kinds.js';
import { UsageError } from '../onnx/errors.js';
import { declaredInputs, planFills, synthesizeFeeds } from '../runtime/inputs.js';
import { createSession } from '../runtime/session.js';
import { parseConstraint, resolveMetric, type Constraint } from './constraints.js';

export interface QualityPlan {
  mode: 'task' | 'data' | 'random';
  userData?: UserDataRef;
  /** Held-out sample indices (data mode), in the order they are scored. */
  holdout?: number[];
  /** Lines for the log: how inputs without data are filled. */
  notes: string[];
  /** Latency inputs: shapes from the data's samples, values for integer inputs the data holds. */
  shapes?: Record<string, number[]>;
  values: Record<string, number>;
  /** Metrics the run can report (quality constraints must name one of them). */
  available: string[];
  kinds?: { output: string; kind: OutputKind }[];
  /** The floor applied to the first output when --quality names none. */
  defaultFloor?: Constraint;
  /** The floors applied when --quality names none: per output, on the metrics FLOORED names for its kind. */
  defaultFloors?: Constraint[];
  describe: string;
}

/** The metrics a task's evaluation reports (src/eval/evaluate.ts), by what its output decodes to. */
export function taskMetricNames(spec: TaskSpec, classes: readonly string[] = []): string[] {
  const d = spec.output.decode;
  if (d === 'classes') return ['accuracy', 'macro-f1', 'ece', ...classes.flatMap((c) => [`recall:${c}`, `precision:${c}`])];
  if (d === 'ctc') return ['cer', 'cer-ignore-ws', 'exact-match', 'exact-match-ignore-ws', 'mean-confidence'];
  return ['cosine'];
}

/** Refuses a quality constraint that names a metric the run cannot report. */
export function checkQualityMetrics(constraints: readonly Constraint[], available: readonly string[], what: string): void {
  for (const c of constraints) {
    if (c.kind !== 'quality') continue;
    if (resolveMetric(c.metric, available) === undefined)
      throw new UsageError(
        `--quality ${c.text}: ${what} gives no '${c.metric}'`,
        `it gives ${available.join(', ')}${/^(cer|exact|wer)/.test(c.metric) ? `; '${c.metric}' needs a text task (--task with a CTC output)` : ''}`,
      );
  }
}

/**
 * The default floors of one output: its floored agreement metrics (FLOORED) at their default levels.
 * Outputs after the first are named `<output>:<metric>`, as the agreement figures name them; built
 * directly, because an output name may hold characters a --quality flag cannot.
 */
export function floorsOf(output: string, kind: OutputKind, first: boolean): Constraint[] {
  return FLOORED[kind].map((name) => {
    if (first) return parseConstraint(`${name}>=${DEFAULT_FLOORS[name]}`);
    const metric = `${output}:${name}`;
    const value = DEFAULT_FLOORS[name]!;
    return { kind: 'quality', metric, op: '>=', mode: 'absolute', value, text: `${metric}>=${value}` };
  });
}

export interface PlanOptions {
  model: string;
  task?: TaskSpec;
  taskClasses?: string[];
  data?: string;
  values: Record<string, number>;
  shapes?: Record<string, number[]>;
  seed: number;
  holdout?: number;
  /** Output kinds the user gave (--output-kind), overriding the guess. */
  kinds?: Record<string, OutputKind>;
}

export async function planQuality(o: PlanOptions): Promise<QualityPlan> {
  if (o.task)
    return {
      mode: 'task',
      notes: [],
      values: o.values,
      ...(o.shapes ? { shapes: o.shapes } : {}),
      available: taskMetricNames(o.task, o.taskClasses),
      describe: `task '${o.task.name}'`,
    };
  const session = await createSession(o.model, { threads: 1 });
  try {
    const inputs = declaredInputs(session);
    checkOutputNames(o.kinds ?? {}, session.outputNames);
    let feeds: Record<string, ort.Tensor>[];
    let plan: Omit<QualityPlan, 'available' | 'kinds' | 'defaultFloor' | 'defaultFloors'>;
    if (o.data) {
      const ref: UserDataRef = {
        path: o.data,
        seed: o.seed,
        ...(Object.keys(o.values).length ? { values: o.values } : {}),
        ...(o.holdout ? { holdout: o.holdout } : {}),
      };
      if (o.shapes) ref.shapes = o.shapes;
      const d = openUserData(o.data, inputs, ref);
      try {
        feeds = d.holdout.slice(0, 3).map((i) => d.feeds(i));
        const first = d.feeds(d.holdout[0]!);
        const shapes: Record<string, number[]> = { ...(o.shapes ?? {}) };
        const values = { ...o.values };
        for (const name of d.fromData) {
          const t = first[name]!;
          shapes[name] ??= [...t.dims];
          // an integer input the data holds (a rate, a mode) keeps its value in the latency runs
          if (t.type !== 'float32' && t.type !== 'float16' && t.type !== 'float64' && values[name] === undefined)
            values[name] = Number((t.data as ArrayLike<number | bigint>)[0]);
        }
        plan = { mode: 'data', userData: ref, holdout: d.holdout, notes: d.notes, shapes, values, describe: d.describe };
      } finally {
        d.close();
      }
    } else {
      const notes = planFills(inputs, o.values)
        .filter((p) => p.note)
        .map((p) => p.note!);
      feeds = [0, 1, 2].map((i) => synthesizeFeeds(session, { ...(o.shapes ? { shapes: o.shapes } : {}), values: o.values, seed: 1000 + i }));
      plan = {
        mode: 'random',
        notes,
        values: o.values,
        ...(o.shapes ? { shapes: o.shapes } : {}),
        describe: 'RANDOM inputs (no --data): agreement on noise is not evidence of quality',
      };
    }
    const outs: Record<string, ort.Tensor>[] = [];
    for (const f of feeds) outs.push(await session.run(f));
    const kinds = session.outputNames.map((name) => ({
      output: name,
      kind: o.kinds?.[name] ?? outputKind(outs.flatMap((r) => splitItems(Float32Array.from(r[name]!.data as ArrayLike<number>, Number), r[name]!.dims))),
    }));
    const available = kinds.flatMap((k, i) => METRICS_OF[k.kind].map((m) => (i === 0 ? m : `${k.output}:${m}`)));
    const defaultFloors = kinds.flatMap((k, i) => floorsOf(k.output, k.kind, i === 0));
    return { ...plan, kinds, available, defaultFloor: defaultFloors[0]!, defaultFloors };
  } finally {
    await session.release();
  }
}
