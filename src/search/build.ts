// Builds one candidate model from the registered passes (run inside build-worker), and the calibration
// stream that passes needing data read, rebuilt from the task reference in each child.

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import type { Feeds, ParamValues, PassRecord } from '../passes/pass.js';
import { applyPasses } from './measure.js';

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

export async function buildCandidate(req: BuildRequest): Promise<{ records: PassRecord[]; sizeBytes: number; sha256: string }> {
  const { PASSES } = await import('../passes/registry.js');
  const calibration = req.task ? await calibrationFor(req.task, req.calibrationItems) : undefined;
  const { model, records } = await applyPasses(readModel(req.sourcePath), req.steps, PASSES, calibration ? { calibration } : {}, req.label);
  const w = writeModel(model, req.outPath);
  return { records, sizeBytes: w.bytes + (w.externalBytes ?? 0), sha256: createHash('sha256').update(readFileSync(req.outPath)).digest('hex') };
}
