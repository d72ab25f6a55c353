// PaddleOCR rec on `serials`: structured pruning + recovery + static int8, against static int8 alone
// (issue 11). The recipe, in stages that each write a model into the work folder, so that a long run can
// be split (about 50 minutes of training in all on this 2-vCPU machine):
//   round1  Taylor importance (|Σ w·∂L/∂w| on 64 items) → half the channels of the groups of six wide
//           backbone convs (multiple 8) → 1,100 CTC steps on the task's texts (batch 16, lr 3e-4)
//   round2  Taylor again → those groups to 64 / 128 channels (multiple 16: ORT's uint8 depthwise kernel
//           is faster at multiples of 16, see `--only widths`) → 800 CTC steps
//   eval    each model and its int8 (clean-fp32 → quantize-static int8-chains) against the source's: CER
//           on 200 held-out items with 95% intervals; p50/p99 at batch 1, interleaved in one process
//   widths  int8 speed of the same prune at multiples 8, 16 and 32, untrained (speed does not depend on weights)
//   scopes  untrained int8 speed over the fp32 source of the search's cuts: scope layer and wide, ratio 0.125–0.25
//   tail    round2's int8 against int8 alone at 4,000 interleaved samples each, speed-ups with bootstrap
//           intervals (eval's 400 samples leave p99 to a handful of slow runs)
//   node --import tsx bench/prune-rec.ts [--only round1,round2,eval,widths,scopes,tail] [--work dir]

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { calibrationFeeds, loadTask } from '../src/data/task.js';
import type { Model } from '../src/onnx/model.js';
import { readModel } from '../src/onnx/read-model.js';
import { writeModel } from '../src/onnx/write-model.js';
import { applyPasses, type Step } from '../src/passes/pipeline.js';
import { PASSES } from '../src/passes/registry.js';
import { pruneStructured } from '../src/passes/prune-structured.js';
import { preparedForPruning, timeInterleaved, timingFeeds } from '../src/cli/prune-pipeline.js';
import { ocrHeldOut, ocrTrainSamples, scoreHeldOut } from '../src/cli/ocr-task.js';
import { readBenchResults, writeBenchFile } from '../src/bench/results.js';
import { modelNormalisation } from '../src/train/task-data.js';
import { trainCtc } from '../src/train/ctc-train.js';
import { speedupInterval } from './lib/ratio-interval.js';
import { REC_WIDE_GROUPS, taylorPruneRec } from './lib/rec-taylor.js';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : ['round1', 'round2', 'eval', 'widths', 'scopes', 'tail'];
const WORK = args.includes('--work') ? args[args.indexOf('--work') + 1]! : join(process.cwd(), 'tmp', 'prune-rec');
const SOURCE = join(process.cwd(), 'node_modules', '@gutenye', 'ocr-models', 'assets', 'ch_PP-OCRv4_rec_infer.onnx');
const INT8 = { scope: 'compute', quantizeDepthwise: true, method: 'percentile', hardswish: 'uint8' };
const results: Record<string, unknown> = {};

/** clean-fp32 → quantize-static int8-chains, calibrated on `limit` training items; and the timing feed. */
async function int8Setup(limit: number) {
  const calib = await loadTask('serials', { split: 'train', limit });
  const ctx = { calibration: calibrationFeeds(calib, limit, { input: 'x' }) } as never;
  const steps = [
    { name: 'clean-fp32', params: {} },
    { name: 'quantize-static', params: INT8 },
  ] as Step[];
  const int8 = async (m: Model) => (await applyPasses(m, steps, PASSES, ctx, 'x')).model;
  const src = await preparedForPruning(readModel(SOURCE));
  const feeds = await timingFeeds(await loadTask('serials', { seed: 1, split: 'test', limit: 5 }), src);
  return { src, int8, s8: await int8(src), feeds };
}

/** CTC steps on 2,000 task items drawn with `dataSeed`. */
async function ctc(m: Model, steps: number, dataSeed: number, seed: number): Promise<Model> {
  const norm = modelNormalisation(m);
  const data = await ocrTrainSamples('serials', m, { seed: dataSeed, limit: 2000, preprocess: norm?.preprocess });
  const r = await trainCtc({
    model: m,
    data,
    blank: data.blank,
    steps,
    lr: 3e-4,
    batchSize: 16,
    seed,
    onStep: (s) => s.step % 100 === 0 && console.log(`  step ${s.step} loss ${s.loss.toFixed(3)}`),
  });
  return r.model;
}

const stages: Record<string, () => Promise<void>> = {
  async round1() {
    const src = await preparedForPruning(readModel(SOURCE));
    const first = await ctc(await taylorPruneRec(src, 0.5, 8), 300, 1, 0);
    writeModel(await ctc(first, 800, 3, 5), join(WORK, 'round1.onnx'));
  },
  async round2() {
    const r1 = readModel(join(WORK, 'round1.onnx'));
    writeModel(await ctc(await taylorPruneRec(r1, 0.47, 16), 800, 4, 7), join(WORK, 'round2.onnx'));
  },
  async eval() {
    const { src, int8, s8, feeds } = await int8Setup(64);
    const held = await ocrHeldOut('serials', { seed: 1, limit: 200, preprocess: modelNormalisation(src)?.preprocess });
    const cer = async (m: Model) => scoreHeldOut(m, held, 1);
    const out: Record<string, unknown> = { source: { cer: await cer(src) }, sourceInt8: { cer: await cer(s8) } };
    for (const name of ['round1', 'round2'].filter((n) => existsSync(join(WORK, `${n}.onnx`)))) {
      const m = readModel(join(WORK, `${name}.onnx`));
      const m8 = await int8(m);
      writeModel(m8, join(WORK, `${name}.int8.onnx`)); // for checks outside edgefit (scripts/check-cer.mjs)
      const f = await timeInterleaved(src, m, feeds, { rounds: 16, iterations: 25 });
      const t = await timeInterleaved(s8, m8, feeds, { rounds: 16, iterations: 25 });
      out[name] = {
        cer: await cer(m),
        int8Cer: await cer(m8),
        fp32: { source: f.a, pruned: f.b, speedup: { p50: f.a.p50 / f.b.p50, p99: f.a.p99 / f.b.p99 } },
        int8: { source: t.a, pruned: t.b, speedupOverInt8Alone: { p50: t.a.p50 / t.b.p50, p99: t.a.p99 / t.b.p99 } },
      };
      console.log(name, JSON.stringify(out[name]));
    }
    results.eval = { items: held.size, timingInput: feeds.x?.dims, int8: `clean-fp32 → quantize-static ${JSON.stringify(INT8)}`, ...out };
  },
  /** Untrained int8 speed of the search's cuts (Taylor ranks need training; speed does not depend on weights): scope layer against wide, against the fp32 source. */
  async scopes() {
    const { src, int8, s8, feeds } = await int8Setup(32);
    const rows = [];
    for (const [scope, ratio] of [
      ['layer', 0],
      ['layer', 0.125],
      ['layer', 0.25],
      ['wide', 0.125],
      ['wide', 0.1875],
      ['wide', 0.25],
    ] as const) {
      const m8 = ratio ? await int8((await pruneStructured(src, { ratio, scope, multiple: 16 })).model) : s8;
      const t = await timeInterleaved(src, m8, feeds, { rounds: 16, iterations: 25 });
      const [p50, p99] = (['p50', 'p99'] as const).map((st) => speedupInterval(t.samplesMs.a, t.samplesMs.b, st)!);
      rows.push({ scope, ratio, fp32Source: t.a, int8: t.b, speedupOverFp32: { p50, p99 } });
      console.log(`${scope} ${ratio}: int8 over the fp32 source p50 ${p50!.value.toFixed(2)}×, p99 ${p99!.value.toFixed(2)}×`);
    }
    results.scopes = rows;
  },
  /** The round-2 model's int8 against int8 alone, at 10× eval's samples, with bootstrap intervals of the speed-ups. */
  async tail() {
    const { s8, int8, feeds } = await int8Setup(64);
    const m8 = await int8(readModel(join(WORK, 'round2.onnx')));
    const t = await timeInterleaved(s8, m8, feeds, { rounds: 80, iterations: 50 });
    const [p50, p99] = (['p50', 'p99'] as const).map((st) => speedupInterval(t.samplesMs.a, t.samplesMs.b, st));
    results.tail = { model: 'round2', int8Alone: t.a, prunedInt8: t.b, speedupOverInt8Alone: { p50, p99 } };
    console.log(
      `round2 int8 over int8 alone: p50 ${p50!.value.toFixed(3)}× [${p50!.ci.map((v) => v.toFixed(3)).join(', ')}], p99 ${p99!.value.toFixed(3)}× [${p99!.ci.map((v) => v.toFixed(3)).join(', ')}] (${t.a.count} + ${t.b.count} samples)`,
    );
  },
  async widths() {
    const { src, int8, s8, feeds } = await int8Setup(32);
    const rows = [];
    for (const [ratio, multiple] of [
      [0.5, 8],
      [0.5, 16],
      [0.47, 16],
      [0.5, 32],
    ] as const) {
      const p = await pruneStructured(src, { ratio: 0, multiple, layerRatios: REC_WIDE_GROUPS.map((n) => `${n}=${ratio}`) });
      const t = await timeInterleaved(s8, await int8(p.model), feeds, { rounds: 12, iterations: 25 });
      const kept = p.groups.filter((g) => g.kept < g.channels).map((g) => g.kept);
      rows.push({ ratio, multiple, kept, int8: { source: t.a, pruned: t.b }, speedup: { p50: t.a.p50 / t.b.p50, p99: t.a.p99 / t.b.p99 } });
      console.log(`ratio ${ratio} multiple ${multiple}: kept ${kept.join('/')}, int8 ${(t.a.p50 / t.b.p50).toFixed(3)}× p50`);
    }
    results.widths = rows;
  },
};

mkdirSync(WORK, { recursive: true });
for (const s of only) {
  console.log(`== ${s}`);
  await stages[s]!();
}
// stages run apart keep each other's figures
const before = readBenchResults('prune-rec');
if (results.eval || results.widths || results.scopes || results.tail) writeBenchFile('prune-rec', 1, { ...before, ...results });
