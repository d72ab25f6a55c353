// Evidence for training that compresses (issue 12): distillation on MNIST against the same student
// trained alone, with the teacher cached and not; QAT against PTQ on PaddleOCR rec (CER on held-out
// serials, latency p50/p99 of fp32 / PTQ / QAT interleaved in one run); LoRA against full fine-tuning
// of the PaddleOCR cls backbone on parts (accuracy, trainable parameters, peak RSS, time per epoch,
// each in its own child process), and the same on a backbone of wide MatMuls (bench/lib/lora-wide.ts:
// RSS by phase); seconds per CTC step on rec with the teacher cached, not cached, and none
// (bench/lib/ctc-kd-speed.ts); LoRA against full CTC fine-tuning of rec on serials, through the CLI
// (bench/lib/lora-rec.ts: CER, seconds per step, RSS, the adapter file's size); a distilled student of rec (KD + CTC) against the same student alone, CER and
// fp32 speed against the teacher (bench/lib/rec-student.ts; about 40 minutes at its 600 steps).
//   npm run bench -- compress                          every section
//   COMPRESS_ONLY=mnist,rec,lora,lorawide,lorarec,ctckd,student node --import tsx bench/compress.ts
//   COMPRESS_CTC_STEPS=n, COMPRESS_CTC_LR=x: steps (default 40) and learning rate (default 0.0003) of lorarec
//   COMPRESS_STUDENT_STEPS=n: training steps of each rec student (default 600)
//   COMPRESS_ONLY=qattime COMPRESS_QAT_MODELS=a.onnx,b.onnx: p50/p99 of rec fp32 and each given int8 model
//     (e.g. `edgefit qat … --scope all --depthwise [--lsq]` outputs), interleaved in one process
//   COMPRESS_REC_DIR=dir: where ptq.onnx and qat.onnx of rec are (from `edgefit qat … --scope all`)
// Sections run separately merge into bench/results/compress.json.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { machineInfo, machineLine, peakRss } from '../src/bench/machine.js';
import { readBenchResults, writeBenchFile } from '../src/bench/results.js';
import { quantileSorted } from '../src/bench/stats.js';
import { loadTask } from '../src/data/task.js';
import { evaluate } from '../src/eval/evaluate.js';
import type { Model } from '../src/onnx/model.js';
import { readModel } from '../src/onnx/read-model.js';
import { createSession } from '../src/runtime/session.js';
import { mnistSplits } from '../src/train/dataset.js';
import { accuracyOf, distill } from '../src/train/distill.js';
import { finetune } from '../src/train/finetune.js';
import { trainModel } from '../src/train/loop.js';
import { buildMlp } from '../src/train/models.js';
import { modelNormalisation, taskSplits } from '../src/train/task-data.js';
import { ctcKdSpeed } from './lib/ctc-kd-speed.js';
import { loraRec, loraRecChild } from './lib/lora-rec.js';
import { loraWide, loraWideChild } from './lib/lora-wide.js';
import { recStudent } from './lib/rec-student.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const THREADS = 1;
const SECTIONS = ['mnist', 'rec', 'lora', 'lorawide', 'lorarec', 'ctckd', 'student', 'qattime'];
const only = (process.env.COMPRESS_ONLY ?? SECTIONS.join(',')).split(',');
const ASSETS = join(root, 'node_modules', '@gutenye', 'ocr-models', 'assets');

async function mnist(): Promise<unknown> {
  const splits = mnistSplits();
  const epochs = 8;
  const teacherRun = await trainModel({ model: buildMlp([784, 512, 512, 10], 0), train: splits.train, val: splits.val, epochs, batchSize: 64, seed: 0 });
  const teacher = teacherRun.model;
  const acc = (m: Model) => accuracyOf(m, 'x', 'logits', splits.test);
  const alone = await trainModel({ model: buildMlp([784, 64, 10], 1), train: splits.train, val: splits.val, epochs, batchSize: 64, seed: 1 });
  const rows: Record<string, unknown>[] = [];
  // the a-priori setting first (T 4, alpha 0.5), then a small sweep, all reported
  for (const [T, alpha] of [
    [4, 0.5],
    [2, 0.5],
    [8, 0.5],
    [4, 0.9],
  ] as const) {
    const r = await distill({
      teacher,
      student: buildMlp([784, 64, 10], 1),
      train: splits.train,
      val: splits.val,
      epochs,
      batchSize: 64,
      seed: 1,
      temperature: T,
      alpha,
    });
    rows.push({ temperature: T, alpha, testAccuracy: await acc(r.model), steps: r.steps, stepsPerSecond: r.stepsPerSecond, teacherSeconds: r.teacherSeconds });
    console.log(`distil T ${T} α ${alpha}: ${((rows.at(-1)!.testAccuracy as number) * 100).toFixed(2)}%`);
  }
  const uncached = await distill({ teacher, student: buildMlp([784, 64, 10], 1), train: splits.train, epochs: 1, batchSize: 64, seed: 1, cacheTeacher: false });
  const cached = await distill({ teacher, student: buildMlp([784, 64, 10], 1), train: splits.train, epochs: 1, batchSize: 64, seed: 1 });
  const out = {
    teacher: { arch: 'mlp:784-512-512-10', testAccuracy: await acc(teacher) },
    alone: { arch: 'mlp:784-64-10', testAccuracy: await acc(alone.model), steps: alone.steps },
    distilled: rows,
    speed: { cachedStepsPerSecond: cached.stepsPerSecond, uncachedStepsPerSecond: uncached.stepsPerSecond },
    testItems: splits.test.labels.length,
    epochs,
  };
  console.log(JSON.stringify(out, null, 2));
  return out;
}

/** Interleaved latency of several models on one input: p50 / p99 each, from the same rounds. */
async function latencies(
  models: Record<string, Model>,
  feeds: Record<string, ort.Tensor>,
  rounds = 10,
  perRound = 20,
): Promise<Record<string, { p50: number; p99: number; n: number }>> {
  const sessions = Object.fromEntries(
    await Promise.all(Object.entries(models).map(async ([k, m]) => [k, await createSession(m, { threads: THREADS })] as const)),
  );
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(models).map((k) => [k, []]));
  for (const s of Object.values(sessions)) for (let i = 0; i < 5; i++) await s.run(feeds);
  for (let r = 0; r < rounds; r++)
    for (const [k, s] of Object.entries(sessions))
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        await s.run(feeds);
        times[k]!.push(performance.now() - t0);
      }
  for (const s of Object.values(sessions)) await s.release();
  return Object.fromEntries(
    Object.entries(times).map(([k, v]) => {
      const sorted = [...v].sort((a, b) => a - b);
      return [k, { p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99), n: v.length }];
    }),
  );
}

async function rec(): Promise<unknown> {
  const dir = process.env.COMPRESS_REC_DIR ?? join(root, 'runs', 'compress-rec');
  if (!existsSync(join(dir, 'qat.onnx')))
    return {
      skipped: `no ${join(dir, 'qat.onnx')}: make it with edgefit qat ch_PP-OCRv4_rec_infer.onnx --task serials --scope all -o <dir>/qat.onnx (and ptq.onnx)`,
    };
  const models: Record<string, Model> = {
    fp32: readModel(join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx')),
    ptq: readModel(join(dir, 'ptq.onnx')),
    qat: readModel(join(dir, 'qat.onnx')),
  };
  const n = Number(process.env.COMPRESS_REC_ITEMS ?? 150);
  // held out: generated with another seed than the training items (seed 0)
  const held = await loadTask('serials', { seed: 1, limit: n });
  const cer: Record<string, unknown> = {};
  for (const [k, m] of Object.entries(models)) {
    const s = await createSession(m, { threads: THREADS });
    const r = await evaluate(s, held);
    await s.release();
    cer[k] = { value: r.primary.value, ci: r.primary.ci, n: r.n };
    console.log(`${k}: CER ${(r.primary.value * 100).toFixed(2)}%`);
  }
  const x = new Float32Array(3 * 48 * 320).map((_, i) => Math.sin(i) * 0.5);
  const lat = await latencies(models, { x: new ort.Tensor('float32', x, [1, 3, 48, 320]) });
  const speed = {
    p50: lat.fp32!.p50 / lat.qat!.p50,
    p99: lat.fp32!.p99 / lat.qat!.p99,
    ptqP50: lat.fp32!.p50 / lat.ptq!.p50,
    ptqP99: lat.fp32!.p99 / lat.ptq!.p99,
  };
  const meta = existsSync(join(dir, 'qat.json')) ? JSON.parse(readFileSync(join(dir, 'qat.json'), 'utf8')) : undefined;
  const out = {
    config: 'quantize-static scope=all (opset 13 QDQ), depthwise float',
    heldOut: { task: 'serials', seed: 1, items: n },
    cer,
    latency: lat,
    speedupVsFp32: speed,
    training: meta,
  };
  console.log(JSON.stringify(out, null, 2));
  return out;
}

/** Rec fp32 against the given QAT models (`edgefit qat` outputs), interleaved: p50/p99 and the speed-ups. */
async function qatTime(): Promise<unknown> {
  const paths = (process.env.COMPRESS_QAT_MODELS ?? '').split(',').filter(Boolean);
  if (!paths.length) return { skipped: 'set COMPRESS_QAT_MODELS=a.onnx,b.onnx (edgefit qat outputs)' };
  const models: Record<string, Model> = { fp32: readModel(join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx')) };
  for (const p of paths) models[p] = readModel(p);
  const x = new Float32Array(3 * 48 * 320).map((_, i) => Math.sin(i) * 0.5);
  const lat = await latencies(models, { x: new ort.Tensor('float32', x, [1, 3, 48, 320]) }, 40, 25);
  const speedupVsFp32 = Object.fromEntries(paths.map((p) => [p, { p50: lat.fp32!.p50 / lat[p]!.p50, p99: lat.fp32!.p99 / lat[p]!.p99 }]));
  const out = { latency: lat, speedupVsFp32 };
  console.log(JSON.stringify(out, null, 2));
  return out;
}

/** One fine-tuning run of the cls backbone on parts, in this process: accuracy, trainable parameters, peak RSS. */
async function loraChild(kind: 'lora' | 'full'): Promise<void> {
  const model = readModel(join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const norm = modelNormalisation(model);
  const limit = Number(process.env.COMPRESS_PARTS_ITEMS ?? 500);
  const data = await taskSplits('parts', { seed: 0, limit, preprocess: norm?.preprocess });
  const epochs = 3;
  const t0 = performance.now();
  const r = await finetune({
    model,
    train: data.train,
    val: data.val,
    epochs: 10,
    batchSize: 32,
    seed: 0,
    select: 'macro-f1',
    optimizer: { kind: 'adamw', lr: 3e-3, cosine: true },
    ...(kind === 'lora' ? { lora: { rank: 8 } } : { unfreeze: 'all' }),
    unfreezeEpochs: epochs,
    // COMPRESS_LORA_LR, COMPRESS_FULL_LR: each phase's learning rate (the CLI's defaults: 3e-3 for the
    // adapters, whose B starts at zero, 1e-3 to unfreeze every weight)
    unfreezeLr: Number((kind === 'lora' ? process.env.COMPRESS_LORA_LR : process.env.COMPRESS_FULL_LR) ?? (kind === 'lora' ? 3e-3 : 1e-3)),
  });
  const s = await createSession(r.model);
  const { evaluateArrays } = await import('../src/train/loop.js');
  const ev = await evaluateArrays(s, s.inputNames[0]!, s.outputNames[0]!, data.test);
  await s.release();
  const phase = r.unfrozen!;
  console.log(
    JSON.stringify({
      kind,
      testAccuracy: ev.accuracy,
      recall: Object.fromEntries(data.test.classes.map((c, k) => [c, ev.recall[k]])),
      trainableParameters: phase.trained.reduce((a, t) => a + t.size, 0),
      lora: r.lora,
      kept: r.unfrozenKept,
      secondsPerEpoch: phase.history.reduce((a, h) => a + h.seconds, 0) / phase.history.length,
      peakRssMiB: peakRss() / 2 ** 20,
      wallSeconds: (performance.now() - t0) / 1000,
      items: { train: data.train.labels.length, test: data.test.labels.length },
    }),
  );
}

function lora(): unknown {
  const out: Record<string, unknown> = {};
  for (const kind of ['lora', 'full'] as const) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'compress.ts')], {
      cwd: root,
      env: { ...process.env, COMPRESS_CHILD: kind },
      encoding: 'utf8',
    });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    out[kind] = r.status === 0 ? JSON.parse(line) : { error: r.stderr.slice(-2000) };
    console.log(kind, JSON.stringify(out[kind]));
  }
  return out;
}

const child = process.env.COMPRESS_CHILD;
const REC = join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx');
if (child?.startsWith('wide-')) await loraWideChild(child.slice(5) as 'lora' | 'full', process.env.COMPRESS_WIDE_DIR!);
else if (child?.startsWith('rec-')) await loraRecChild(child.slice(4) as 'lora' | 'full', REC, process.env.COMPRESS_REC_LORA_DIR!);
else if (child) await loraChild(child as 'lora' | 'full');
else {
  console.log(machineLine(machineInfo(THREADS)));
  const got: Record<string, unknown> = {};
  if (only.includes('mnist')) got.mnist = await mnist();
  if (only.includes('rec')) got.rec = await rec();
  if (only.includes('lora')) got.lora = lora();
  if (only.includes('lorawide')) got.loraWide = await loraWide(fileURLToPath(import.meta.url), root);
  if (only.includes('lorarec')) got.loraRec = loraRec(fileURLToPath(import.meta.url), root, REC);
  if (only.includes('ctckd')) got.ctcKdSpeed = await ctcKdSpeed(join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'), 16, 16);
  if (only.includes('qattime')) got.qatTime = await qatTime();
  if (only.includes('student')) {
    const work = join(root, 'tmp', 'rec-student');
    mkdirSync(work, { recursive: true });
    got.recStudent = await recStudent(join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'), work, Number(process.env.COMPRESS_STUDENT_STEPS ?? 600));
  }
  // read back just before writing: sections run in separate processes merge
  const results = { ...readBenchResults('compress', root), ...got };
  console.log(`wrote ${writeBenchFile('compress', THREADS, results, root)}`);
}
