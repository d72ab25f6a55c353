// Per-node sensitivity for the search: how much agreement with the float model each node buys back when
// it alone stays float under static quantization. The analysis itself is quant-b's (measureSensitivity in
// src/passes/quant/sensitivity.ts); this file rebuilds its inputs inside the sensitivity worker.

import { readModel } from '../onnx/read-model.js';
import type { ParamValues } from '../passes/pass.js';
import { validateParams } from '../passes/params.js';
import { applyPasses } from '../passes/pipeline.js';
import { loadSplit } from '../data/load-split.js';
import { calibrationFor } from './build.js';
import type { Sensitivity } from './types.js';

export interface SensitivityRequest {
  sourcePath: string;
  /** Passes applied before the analysed one (opset upgrade, constants to initializers). */
  prefix: { name: string; params: ParamValues }[];
  pass: { name: string; params: ParamValues };
  threads: number;
  task: { ref: string; data?: string; seed: number };
  calibrationItems: number;
  /** Held-out items the agreement is measured on. */
  probeSamples: number;
}

export async function computeSensitivity(req: SensitivityRequest): Promise<Sensitivity> {
  const { PASSES } = await import('../passes/registry.js');
  const { calibrationFeeds } = await import('../data/task.js');
  const { QualityProbe, measureSensitivity } = await import('../passes/quant/sensitivity.js');
  const calibration = await calibrationFor(req.task, req.calibrationItems);
  const held = (await loadSplit(req.task.ref, 'val', { ...(req.task.data ? { data: req.task.data } : {}), seed: req.task.seed, limit: req.probeSamples })).task;
  const { model } = await applyPasses(readModel(req.sourcePath), req.prefix, PASSES, { calibration }, req.pass.name);
  const pass = PASSES.find((p) => p.name === req.pass.name)!;
  const params = validateParams(pass.name, pass.params, req.pass.params);
  const probe = await QualityProbe.create(model, calibrationFeeds(held, req.probeSamples), { maxSamples: req.probeSamples, threads: req.threads });
  const r = await measureSensitivity(model, params, { calibration, seed: 0 }, probe, { iterations: 3 });
  const rows = r.table.map((t) => ({ node: t.node, opType: t.opType, delta: t.gain, msCost: t.msCost })).sort((a, b) => b.delta - a.delta);
  return { metric: `${probe.defaultMetric} agreement with fp32`, rows };
}
