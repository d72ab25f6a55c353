// The conformance suite's check of a training stage (role 'train': recover, finetune, qat) on one model.
// The stage runs a few small steps with the model itself as teacher, on the model's calibration samples
// (finetune: labelled with the model's own arg max, where its first output is one row of classes; qat:
// after quantize-static at its defaults). Then, as for a pass: the graph verifies, ORT loads it, every
// output keeps its size and stays finite, and within STAGE_COSINE of the input model's outputs.
// Where a stage cannot train a model, it must say so with the typed error this file expects of it, and
// a model that becomes trainable (or fails another way) fails the check until the table is updated.

import * as assert from 'node:assert/strict';
import { EdgefitError, UsageError } from '../src/onnx/errors.js';
import type { Model } from '../src/onnx/model.js';
import { validateParams } from '../src/passes/params.js';
import type { Pass, PassContext, StageData } from '../src/passes/pass.js';
import { cosine, runModel } from '../src/passes/quant/ort-check.js';
import { keptOutputs } from './conformance-outputs.js';
import { quantizeStatic } from '../src/passes/quantize-static.js';
import { stageDataFromFeeds } from '../src/train/stage-data.js';
import type { ConformanceModel } from './conformance-models.js';

/** A few small steps: enough to build, run and export the training graph, not to move far. */
export const STAGE_STEPS = { steps: 2, batch: 4, lr: 1e-4 };
/** How close to the input model's outputs the stage's result must stay after STAGE_STEPS. */
export const STAGE_COSINE = 0.95;

/** The stages that cannot train a model, and the typed error each must refuse it with. */
export const STAGE_REFUSALS: Record<string, { code: string; message: RegExp }> = {
  'zoo/bert-text': { code: 'E_STAGE_INPUTS', message: /'input_ids' \(int64\)/ },
  'zoo/vad-recurrent': { code: 'E_STAGE_INPUTS', message: /'state'/ },
};

/** Samples of the model's first input from its calibration stream; undefined when it has no float input to stack. */
async function samples(m: ConformanceModel, model: Model): Promise<StageData | undefined> {
  try {
    return await stageDataFromFeeds(m.calibration, model, 8);
  } catch (e) {
    if (e instanceof UsageError) return undefined; // e.g. token ids: the stage itself must refuse the model (STAGE_REFUSALS)
    throw e;
  }
}

/** For finetune: each sample's label is the model's own arg max, where its first output is [N, classes]. */
async function selfLabelled(model: Model, data: StageData): Promise<StageData | undefined> {
  const input = model.graph.realInputs()[0]!.name;
  const n = data.x.length / data.sampleShape.reduce((p, q) => p * q, 1);
  const out = Object.values(await runModel(model, { [input]: { dims: [n, ...data.sampleShape], data: data.x } }))[0]!;
  if (out.length % n !== 0) return undefined;
  const c = out.length / n;
  const first = model.graph.outputs[0]?.type;
  const rank = first && 'shape' in first ? first.shape?.length : undefined;
  if (c < 2 || (rank !== undefined && rank !== 2)) return undefined;
  const labels = Int32Array.from({ length: n }, (_, i) => {
    const row = out.subarray(i * c, (i + 1) * c);
    return row.indexOf(Math.max(...row));
  });
  return { ...data, labels };
}

/** Checks the stage on the model; returns why it does not apply at all (nothing to check), else undefined. */
export async function checkStage(pass: Pass, m: ConformanceModel, model: Model, ref: Record<string, Float32Array>): Promise<string | undefined> {
  let data = await samples(m, model);
  const refusal = STAGE_REFUSALS[m.name];
  if (data && pass.name === 'finetune' && !refusal) {
    const labelled = await selfLabelled(model, data);
    if (!labelled) return `finetune trains class labels and ${m.name}'s first output is not one row of classes`;
    data = labelled;
  }
  const ctx: PassContext = { teacher: model, seed: 1, ...(data ? { trainData: data } : {}) };
  const input = pass.name === 'qat' && data ? (await quantizeStatic(model.clone(), {}, { calibration: m.calibration })).model : model.clone();
  const params = validateParams(pass.name, pass.params, { ...STAGE_STEPS });
  if (refusal) {
    await assert.rejects(
      pass.run(input, params, ctx),
      (e) => e instanceof EdgefitError && e.code === refusal.code && refusal.message.test(e.message),
      `${pass.name} on ${m.name} must refuse with ${refusal.code} (${refusal.message}); if it now trains the model, remove it from STAGE_REFUSALS`,
    );
    return undefined;
  }
  const { model: out, record } = await pass.run(input, params, ctx);
  assert.equal(record.pass, pass.name);
  assert.equal(record.stats.steps, STAGE_STEPS.steps, `${pass.name} on ${m.name} ran its steps`);
  assert.ok(Number.isFinite(record.stats.lossBefore) && Number.isFinite(record.stats.lossAfter), `${pass.name} on ${m.name}: finite losses`);
  for (const [name, r, g] of await keptOutputs(out, m.feeds, ref, `after stage ${pass.name} on ${m.name}`)) {
    const c = cosine(r, g);
    assert.ok(c >= STAGE_COSINE, `${pass.name} on ${m.name}: output ${name} cosine ${c.toFixed(5)} to the input model's, under ${STAGE_COSINE}`);
  }
  return undefined;
}
