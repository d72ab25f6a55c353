// Builds one candidate model from the registered passes (run inside build-worker), and the calibration
// stream that passes needing data read, rebuilt from the task reference in each child.

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import type { Feeds, ParamValues, PassRecord } from '../passes/pass.js';
import { applyPasses } from './measure.js';
import { openUserDataRef, type UserDataRef } from '../data/user-data.js';
import { declaredInputs, type InputSpec } from '../runtime/inputs.js';

export interface TaskRef {
  ref: string;
  data?: string;
  seed: number;
}

export interface BuildRequest {
  sourcePath: string;
  steps: { name: string; params: ParamValues }[];
  label: string;
  outPath: string;
  task?: TaskRef;
  /** The user's data (no task): calibration reads its calibration part, never the held-out one. */
  userData?: UserDataRef;
  calibrationItems: number;
}

/** Calibration feeds from the task's train split (all of it when it is too small to split). */
export async function calibrationFor(task: TaskRef, n: number): Promise<() => AsyncIterable<Feeds>> {
  const { loadTask, calibrationFeeds } = await import('../data/task.js');
  const base = { ...(task.data ? { data: task.data } : {}), seed: task.seed };
  let t;
  try {
    t = await loadTask(task.ref, { ...base, split: 'train', limit: n });
  } catch {
    t = await loadTask(task.ref, { ...base, limit: n });
  }
  return calibrationFeeds(t, n);
}

/** Calibration feeds from the calibration part of the user's data (the held-out part is never read). */
export function userDataCalibration(ref: UserDataRef, inputs: InputSpec[], n: number): () => AsyncIterable<Feeds> {
  return () => {
    const data = openUserDataRef(ref, inputs);
    const it = data.stream('calibration', n)();
    return (async function* () {
      try {
        for await (const f of it) yield f as Feeds;
      } finally {
        data.close();
      }
    })();
  };
}

export async function buildCandidate(req: BuildRequest): Promise<{ records: PassRecord[]; sizeBytes: number; sha256: string }> {
  const { PASSES } = await import('../passes/registry.js');
  const source = readModel(req.sourcePath);
  const calibration = req.task
    ? await calibrationFor(req.task, req.calibrationItems)
    : req.userData
      ? userDataCalibration(req.userData, declaredInputs(source), req.calibrationItems)
      : undefined;
  const { model, records } = await applyPasses(source, req.steps, PASSES, calibration ? { calibration } : {}, req.label);
  const w = writeModel(model, req.outPath);
  return { records, sizeBytes: w.bytes + (w.externalBytes ?? 0), sha256: createHash('sha256').update(readFileSync(req.outPath)).digest('hex') };
}
