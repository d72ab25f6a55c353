// Evidence for pruning (issue 11): structured prune + recovery by distillation against the unpruned
// model, timed interleaved in the same process (p50/p99, 1 thread), quality with intervals; the same
// small architecture trained alone as the baseline; unstructured 50/80/90% and 2:4 (size, quality,
// latency); PaddleOCR cls and rec (rec: prune + recover + static int8 against static int8 alone); a
// BERT-style encoder on the notes text task (bert-base-uncased tokenizer) with half its heads and FFN
// neurons removed (bench/lib/prune-bert.ts).
//   node --import tsx bench/prune.ts [--quick] [--only mnist,unstructured,cls,rec,bert]
// Sections not run keep their previous figures in bench/results/prune.json.

import { brotliCompressSync, constants as zc, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { calibrationFeeds, loadTask } from '../src/data/task.js';
import type { Model } from '../src/onnx/model.js';
import { readModel } from '../src/onnx/read-model.js';
import { serializeModel } from '../src/onnx/write-model.js';
import { pruneMagnitude } from '../src/passes/prune-magnitude.js';
import { quantizeStatic } from '../src/passes/quantize-static.js';
import { preparedForPruning, runPruneJob, scoreOn, timeInterleaved, timingFeeds, type PruneReport } from '../src/cli/prune-pipeline.js';
import { readBenchResults, writeBenchFile } from '../src/bench/results.js';
import { trainedMnist } from '../src/train/index.js';
import { bertTextSection } from './lib/prune-bert.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const SECTIONS = ['mnist', 'unstructured', 'cls', 'rec', 'bert'];
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : SECTIONS;
const OCR = join(process.cwd(), 'node_modules', '@gutenye', 'ocr-models', 'assets');
const results: Record<string, unknown> = {};
// sections run in separate processes may finish in any order: merge with what is on disk at each save
const save = () => {
  const before = readBenchResults('prune');
  writeBenchFile('prune', 1, { ...before, ...results });
};
const MNIST_ARCH = 'cnn:1x28x28-c32-p-c64-p-f128-10';

const brief = (r: PruneReport) => ({
  params: r.params,
  macs: r.macs,
  latencyMs: r.latencyMs,
  speedup: r.speedup,
  verdict: r.verdict,
  quality: r.quality,
  recovery: r.recovery,
  groups: r.groups.map((g) => `${g.sources.join('+')}: ${g.channels}→${g.kept}`),
  skipped: r.skipped,
});

/** conv/fc widths of a pruned `cnn:` model, as an arch string of the same shape. */
function archOf(m: Model): string {
  const widths = m.graph.nodes.filter((n) => n.opType === 'Conv' || n.opType === 'MatMul').map((n) => m.graph.initializers.get(n.inputs[1]!)!.dims);
  const c = widths.filter((d) => d.length === 4).map((d) => d[0]);
  const f = widths.filter((d) => d.length === 2).map((d) => d[1]);
  return `cnn:1x28x28-c${c[0]}-p-c${c[1]}-p-f${f[0]}-10`;
}

async function mnist(): Promise<void> {
  const epochs = quick ? 1 : 3;
  console.log(`mnist: training ${MNIST_ARCH} (${epochs} epochs, the edgefit train loop)…`);
  const cnn = await trainedMnist(MNIST_ARCH, { epochs });
  const { model, report } = await runPruneJob({
    model: cnn,
    task: 'mnist',
    ratio: 0.5,
    method: 'l1',
    recoverEpochs: quick ? 1 : 4,
    trainSamples: quick ? 1000 : 8000,
    evalSamples: quick ? 500 : 2000,
    rounds: 10,
    iterations: 50,
    log: console.log,
  });
  const arch = archOf(model);
  console.log(`mnist: baseline ${arch} trained alone…`);
  const alone = await trainedMnist(arch, { epochs });
  const held = await loadTask('mnist', { split: 'test', limit: quick ? 500 : 2000 });
  const q = (await scoreOn(alone, held, quick ? 500 : 2000, 1)).primary;
  results.mnist = { arch: MNIST_ARCH, epochs, ratio: 0.5, ...brief(report), baseline: { arch, trainedAlone: { accuracy: q.value, ci: q.ci } } };
  save();
}

async function unstructured(): Promise<void> {
  const cnn = await trainedMnist(MNIST_ARCH, { epochs: quick ? 1 : 3 });
  const held = await loadTask('mnist', { split: 'test', limit: quick ? 500 : 2000 });
  const feeds = await timingFeeds(held, cnn);
  const size = (m: Model) => {
    const b = serializeModel(m);
    return { raw: b.length, gzip: gzipSync(b, { level: 9 }).length, brotli: brotliCompressSync(b, { params: { [zc.BROTLI_PARAM_QUALITY]: 9 } }).length };
  };
  const rows = [];
  const dense = (await scoreOn(cnn, held, quick ? 500 : 2000, 1)).primary;
  rows.push({ variant: 'dense', size: size(cnn), accuracy: dense.value, ci: dense.ci, latencyMs: null as unknown });
  for (const v of [{ ratio: 0.5 }, { ratio: 0.8 }, { ratio: 0.9 }, { nm: '2:4' }, { ratio: 0.8, scope: 'global' as const }]) {
    const { model, record } = await pruneMagnitude(cnn, v);
    const q = (await scoreOn(model, held, quick ? 500 : 2000, 1)).primary;
    const t = await timeInterleaved(cnn, model, feeds, { rounds: 10, iterations: 50 });
    rows.push({
      variant: JSON.stringify(v),
      sparsity: record.stats.sparsity,
      size: size(model),
      accuracy: q.value,
      ci: q.ci,
      latencyMs: { dense: t.a, sparse: t.b },
    });
    console.log(`unstructured ${JSON.stringify(v)}: acc ${q.value.toFixed(4)}, p50 ${t.a.p50.toFixed(3)} → ${t.b.p50.toFixed(3)} ms`);
  }
  results.unstructured = {
    model: `${MNIST_ARCH} (MNIST, no recovery)`,
    rows,
    note: 'ORT CPU kernels are dense: zeros shrink the compressed file, not the latency',
  };
  save();
}

async function cls(): Promise<void> {
  const m = readModel(join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const { report } = await runPruneJob({
    model: m,
    task: 'serials-rotated',
    ratio: 0.5,
    method: 'l1',
    recoverEpochs: quick ? 1 : 4,
    trainSamples: quick ? 64 : 600,
    evalSamples: quick ? 100 : 300,
    lr: 2e-3,
    rounds: 10,
    iterations: 30,
    log: console.log,
  });
  results.cls = { model: 'ch_ppocr_mobile_v2.0_cls', task: 'serials-rotated', ratio: 0.5, ...brief(report) };
  save();
}

async function rec(): Promise<void> {
  const ratio = 0.25;
  const fp32 = await preparedForPruning(readModel(join(OCR, 'ch_PP-OCRv4_rec_infer.onnx')));
  const { model: pruned, report } = await runPruneJob({
    model: fp32,
    task: 'serials',
    ratio,
    method: 'l1',
    recoverEpochs: quick ? 1 : 2,
    trainSamples: quick ? 16 : 96,
    evalSamples: quick ? 30 : 100,
    rounds: 4,
    iterations: 10,
    log: console.log,
  });
  const cal = await loadTask('serials', { split: 'train', limit: 64 });
  const ctx = { calibration: calibrationFeeds(cal, 64, { input: 'x' }) };
  const int8 = (await quantizeStatic(fp32, { scope: 'pointwise' }, ctx)).model;
  const both = (await quantizeStatic(pruned, { scope: 'pointwise' }, ctx)).model;
  const held = await loadTask('serials', { split: 'test', limit: quick ? 30 : 100 });
  const t = await timeInterleaved(int8, both, await timingFeeds(held, fp32), { rounds: 6, iterations: 10 });
  const [q8, qb] = [(await scoreOn(int8, held, quick ? 30 : 100, 1)).primary, (await scoreOn(both, held, quick ? 30 : 100, 1)).primary];
  results.rec = {
    model: 'ch_PP-OCRv4_rec',
    task: 'serials',
    ratio,
    prunedFp32: brief(report),
    int8Alone: { cer: q8.value, ci: q8.ci, latencyMs: t.a },
    prunedRecoveredInt8: { cer: qb.value, ci: qb.ci, latencyMs: t.b },
    speedupOverInt8: { p50: t.a.p50 / t.b.p50, p99: t.a.p99 / t.b.p99 },
    fp32Cer: report.quality.input,
  };
  save();
}

async function bert(): Promise<void> {
  results.bert = await bertTextSection(quick);
  save();
}

const table: Record<string, () => Promise<void>> = { mnist, unstructured, cls, rec, bert };
for (const s of SECTIONS) if (only.includes(s)) await table[s]!();
console.log(JSON.stringify(results, null, 1).slice(0, 4000));
