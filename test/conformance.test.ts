// The shared conformance suite: EVERY pass and training stage in the registry runs on every conformance
// model (the zoo built in code, exporter-style models among them, the three PaddleOCR models, MNIST
// models fed real digits; test/conformance-models.ts). After each pass the graph must verify, ORT must
// load it, and its outputs must stay within the pass's declared tolerance of the input model's outputs
// on the same feeds; a stage is held to the same after a few steps (test/conformance-stages.ts). A transforming pass
// (not a prep pass) must also show an effect where it applies: "outputs within tolerance" holds for a
// pass that does nothing. Every skip says why.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Model } from '../src/onnx/model.js';
import { validateParams } from '../src/passes/params.js';
import type { Pass, Tolerance } from '../src/passes/pass.js';
import { PASSES } from '../src/passes/registry.js';
import { cosine, maxAbsDiff, relL2, runModel } from '../src/passes/quant/ort-check.js';
import { graphSignature, passApplies } from './conformance-effect.js';
import { MODELS, type ConformanceModel } from './conformance-models.js';
import { keptOutputs } from './conformance-outputs.js';
import { checkStage } from './conformance-stages.js';

/** Passes given a model's wide calibration where it has one: they decide from how much data they saw. */
const WIDE_CALIBRATION = new Set(['prune-classes']);

function within(t: Tolerance, ref: Float32Array, got: Float32Array): { ok: boolean; value: number } {
  if (t.metric === 'cosine') {
    const v = cosine(ref, got);
    return { ok: v >= t.value, value: v };
  }
  const v = t.metric === 'maxAbs' ? maxAbsDiff(ref, got) : relL2(ref, got);
  return { ok: v <= t.value, value: v };
}

const loaded = new Map<string, Promise<{ model: Model; ref: Record<string, Float32Array> }>>();
function base(m: ConformanceModel) {
  let p = loaded.get(m.name);
  if (!p) {
    p = (async () => {
      const model = await m.load();
      return { model, ref: await runModel(model, m.feeds) };
    })();
    loaded.set(m.name, p);
  }
  return p;
}

/**
 * The parameter sets each pass is checked with: its defaults everywhere, and on the small models also
 * every other value of each enum parameter and the flip of each boolean one, one change at a time,
 * and each declared preset (the combinations the search tries).
 */
function paramVariants(pass: Pass): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = (pass.presets ?? []).map((p) => ({ ...p.params }));
  for (const [key, spec] of Object.entries(pass.params)) {
    if (spec.type === 'enum') for (const v of spec.values ?? []) if (v !== spec.default) out.push({ [key]: v });
    if (spec.type === 'boolean') out.push({ [key]: !(spec.default ?? false) });
  }
  return out;
}

/** Per transforming pass, the models its default run changed: each must change at least one. */
const changedBy = new Map<string, string[]>();

/**
 * 'default': the pass's own parameters (or a variant), outputs within its tolerance. 'effect': the
 * parameters its `effect` declares, where it must change the graph and outputs only keep their sizes.
 */
type Mode = 'default' | 'effect';

/** Whether this run is the one that must show the pass's effect. */
function effectRun(pass: Pass, raw: Record<string, unknown>, mode: Mode): boolean {
  if (pass.prep) return false;
  return pass.effect ? mode === 'effect' : Object.keys(raw).length === 0;
}

async function check(pass: Pass, m: ConformanceModel, raw: Record<string, unknown> = {}, mode: Mode = 'default'): Promise<void> {
  const { model, ref } = await base(m);
  const params = validateParams(pass.name, pass.params, raw);
  const calibration = (WIDE_CALIBRATION.has(pass.name) && m.wideCalibration) || m.calibration;
  const { model: out, record } = await pass.run(model.clone(), params, { calibration, seed: 1 });
  if (effectRun(pass, raw, mode)) {
    const changed = graphSignature(out) !== graphSignature(model);
    if (changed) changedBy.set(pass.name, [...(changedBy.get(pass.name) ?? []), m.name]);
    const why = passApplies(pass.name, model, record);
    assert.ok(changed || !why, `${pass.name} on ${m.name} changed nothing (same nodes, op types and initializer dtypes), though it applies: ${why}`);
  }
  assert.equal(record.pass, pass.name);
  for (const s of record.skipped) assert.ok(s.reason.length > 0, `skipped ${s.node} says why`);
  for (const [name, r, g] of await keptOutputs(out, m.feeds, ref, `after pass ${pass.name} on ${m.name}`)) {
    if (mode === 'effect') continue; // values move by design (see Pass.effect); sizes and finiteness checked above
    const w = within(pass.tolerance, r, g);
    assert.ok(
      w.ok,
      `${pass.name} ${JSON.stringify(raw)} on ${m.name}: output ${name} ${pass.tolerance.metric} ${w.value.toFixed(5)} outside tolerance ${pass.tolerance.value}`,
    );
  }
}

// Training stages (role 'train') run a few small steps with the model as its own teacher, and are held
// to the same checks (test/conformance-stages.ts); where one cannot train a model it must say why.
for (const m of MODELS) {
  for (const pass of PASSES) {
    const skip = m.skip ?? (pass.needsCalibration && !m.calibration ? `pass needs calibration data and ${m.name} has none` : undefined);
    if (pass.role === 'train') {
      test(`conformance: stage ${pass.name} on ${m.name}`, { skip }, async (t) => {
        const { model, ref } = await base(m);
        const notApplicable = await checkStage(pass, m, model, ref);
        if (notApplicable) t.skip(notApplicable);
      });
      continue;
    }
    test(`conformance: ${pass.name} on ${m.name}`, { skip }, () => check(pass, m));
    const effect = pass.effect;
    if (effect) test(`conformance: ${pass.name} ${JSON.stringify(effect.params)} on ${m.name}`, { skip }, () => check(pass, m, effect.params, 'effect'));
    if (m.name.startsWith('ocr/')) continue; // the big models: defaults only, to keep the suite short
    for (const v of paramVariants(pass)) test(`conformance: ${pass.name} ${JSON.stringify(v)} on ${m.name}`, { skip }, () => check(pass, m, v));
  }
}

/** A training stage changes weights, not the graph: its steps and outputs are checked per model above. */
const STAGE_EFFECT = 'a training stage changes weights, not the graph: checked per model by its steps and outputs';

for (const pass of PASSES.filter((p) => !p.prep))
  test(`conformance: ${pass.name} changes at least one model`, { skip: pass.role === 'train' ? STAGE_EFFECT : undefined }, async () => {
    // declared after the per-model tests, so (node:test runs top-level tests in order) it sees their results
    const raw = pass.effect?.params ?? {};
    for (const m of MODELS.filter((x) => !x.skip)) if (!changedBy.has(pass.name)) await check(pass, m, raw, 'effect').catch(() => undefined);
    assert.ok(changedBy.get(pass.name)?.length, `${pass.name} left every conformance model unchanged: a transforming pass must do something`);
  });
