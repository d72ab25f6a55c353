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

function save(): void {
  mkdirSync(dirname(outPath), { recursive: true });
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
  // Two epochs over 4800 digits; the second epoch is timed (the first warms up kernels and the JIT).
  const data = subset(mnist.train, 0, 4800);
  const rounds = 3;
  const edge: Record<'graph' | 'ts', number[]> = { graph: [], ts: [] };
  const tfjs: number[] = [];
  const tfRun = await tfjsTrainer();
  for (let k = 0; k < rounds; k++) {
    for (const update of ['graph', 'ts'] as const) {
      const r = await trainModel({ model: buildMlp([784, 512, 512, 10], k), train: data, epochs: 2, batchSize: 64, seed: k, update, optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0 } });
      edge[update].push(r.history[1]!.samplesPerSecond);
    }
    tfjs.push(await tfRun(data, 64));
    console.log(`round ${k + 1}: edgefit graph ${edge.graph[k]!.toFixed(0)}/s, ts ${edge.ts[k]!.toFixed(0)}/s, tfjs-wasm ${tfjs[k]!.toFixed(0)}/s`);
  }
  const best = median(edge.graph) >= median(edge.ts) ? 'graph' : 'ts';
  const speedup = Math.max(median(edge.graph), median(edge.ts)) / median(tfjs);
  console.log(`update in ${best} is faster; edgefit / tfjs-wasm = ${speedup.toFixed(1)}× (target ≥ 10×)`);
  results.throughput = {
    model: 'mlp:784-512-512-10', batch: 64, threads: 1, optimizer: 'Adam (AdamW with weight decay 0), lr 1e-3', samples: 4800, timed: 'second epoch of two, per round', rounds,
    edgefitGraphUpdate: { samplesPerSecond: edge.graph, median: median(edge.graph) },
    edgefitTsUpdate: { samplesPerSecond: edge.ts, median: median(edge.ts) },
    fasterUpdate: best,
    tfjsWasm: { version: tfVersion, simd: tfSimd, threads: 1, samplesPerSecond: tfjs, median: median(tfjs) },
    speedup, target: 10, met: speedup >= 10,
  };
  save();
}

/** TensorFlow.js on the wasm backend (1 thread): the same MLP, Adam, softmax cross-entropy. Returns a trainer. */
async function tfjsTrainer(): Promise<(data: ArrayDataset, batch: number) => Promise<number>> {
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
    for (let epoch = 0; epoch < 2; epoch++) {
      const t0 = performance.now();
      for (let first = 0; first < n; first += batch) {
        const k = Math.min(batch, n - first);
        tf.tidy(() => {
          const xb = tf.tensor2d(data.x.subarray(first * 784, (first + k) * 784), [k, 784]);
          const yb = tf.oneHot(tf.tensor1d(data.labels.subarray(first, first + k), 'int32'), 10).toFloat();
          opt.minimize(() => tf.losses.softmaxCrossEntropy(yb, model.predict(xb) as import('@tensorflow/tfjs').Tensor) as import('@tensorflow/tfjs').Scalar, true)!.dataSync();
        });
      }
      seconds = (performance.now() - t0) / 1000;
    }
    model.dispose();
    opt.dispose();
    return n / seconds;
  };
}

if (sections.includes('finetune')) {
  const { finetuneBench } = await import('./train-finetune.js');
  results.finetune = await finetuneBench();
  save();
}
