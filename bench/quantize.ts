// Evidence for the quantization passes of quant-a (issue 3): speed of int8 dynamic, int4 weight-only and
// fp16 against fp32 in the same run, at 1 thread, with output agreement (cosine, top-1 of the head).
//   node --import tsx bench/quantize.ts [--quick] [--out bench/results/quantize.json]
// Sessions of all variants of a case are created up front and measured in interleaved rounds, so a
// change in machine load hits every variant alike. Writes JSON and prints a markdown table.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { summarize } from '../src/bench/stats.js';
import type { Model } from '../src/onnx/model.js';
import { serializeModel, writeFileAtomic } from '../src/onnx/write-model.js';
import { convertFp16 } from '../src/passes/fp16.js';
import { quantizeDynamic } from '../src/passes/quantize-dynamic.js';
import { quantizeInt4 } from '../src/passes/quantize-int4.js';
import { cosine, optimizedOpCounts, top1Agreement } from '../src/passes/quant/ort-check.js';
import { createSession } from '../src/runtime/session.js';
import { bertEncoder, mlpBeyondL3, L3_EXCEEDING_MLP_SIZES, normal, randn, rng } from '../src/zoo/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outPath = args.includes('--out') ? args[args.indexOf('--out') + 1]! : join(dirname(fileURLToPath(import.meta.url)), 'results', 'quantize.json');
const THREADS = 1;
/** At least this many interleaved cycles, whatever the time budget. */
const MIN_CYCLES = 5;

interface Variant {
  name: string;
  make: (m: Model) => Promise<Model>;
}

interface Case {
  model: string;
  build: () => Model;
  batches: number[];
  /** Input dims for a batch size. */
  shape: (batch: number) => number[];
  classes: number;
  variants: Variant[];
  /** Measuring time per variant (all variants run interleaved for budget × variants). */
  budgetMs: (batch: number) => number;
  target: { variant: string; speedup: number; batch?: number }[];
}

const fp32: Variant = { name: 'fp32', make: async (m) => m };
const dynamic: Variant = { name: 'int8-dynamic', make: async (m) => (await quantizeDynamic(m, {})).model };
const dynamicInteger: Variant = { name: 'int8-dynamic (MatMulInteger form)', make: async (m) => (await quantizeDynamic(m, { form: 'integer' })).model };
const dynamicMerged: Variant = { name: 'int8-dynamic, Q/K/V merged', make: async (m) => (await quantizeDynamic(m, { mergeSiblings: true })).model };
const dynamicTensor: Variant = { name: 'int8-dynamic per-tensor', make: async (m) => (await quantizeDynamic(m, { perChannel: false })).model };
const int4 = (accuracyLevel: number, blockSize = 32): Variant => ({
  name: `int4 rtn bs${blockSize} acc${accuracyLevel}`,
  make: async (m) => (await quantizeInt4(m, { accuracyLevel, blockSize })).model,
});
const fp16: Variant = { name: 'fp16', make: async (m) => (await convertFp16(m, {})).model };

const bert = (hidden: number, heads: number, variants: Variant[]): Case => ({
  model: `bert-encoder L4 H${hidden} S128`,
  build: () => bertEncoder({ layers: 4, hidden, heads, seq: 128, classes: 4 }),
  batches: quick ? [1] : [1, 32],
  shape: (b) => [b, 128, hidden],
  classes: 4,
  variants: quick ? [fp32, dynamic] : variants,
  budgetMs: (b) => (quick ? 1500 : b === 1 ? 3000 : 6000),
  target: [{ variant: 'int8-dynamic', speedup: 2.3 }],
});

const CASES: Case[] = [
  bert(384, 6, [fp32, dynamic, dynamicMerged, dynamicInteger, dynamicTensor, int4(4), fp16]),
  // Fewer variants at hidden 768: one batch-32 run of fp32 alone is seconds on one core.
  ...(quick ? [] : [bert(768, 12, [fp32, dynamic, dynamicTensor, fp16])]),
  {
    model: `mlp ${L3_EXCEEDING_MLP_SIZES.join('-')} (96 MiB fp32 > 32 MiB L3)`,
    build: () => mlpBeyondL3(),
    batches: [1],
    shape: (b) => [b, L3_EXCEEDING_MLP_SIZES[0]!],
    classes: L3_EXCEEDING_MLP_SIZES[L3_EXCEEDING_MLP_SIZES.length - 1]!,
    variants: quick ? [fp32, int4(4)] : [fp32, int4(4), int4(4, 128), int4(0), dynamic, fp16],
    budgetMs: () => (quick ? 1500 : 3000),
    target: [{ variant: 'int4 rtn bs32 acc4', speedup: 2 }],
  },
];

interface Row {
  model: string;
  batch: number;
  variant: string;
  p50Ms: number;
  p90Ms: number;
  meanMs: number;
  runs: number;
  /** Median over cycles of (fp32 time / variant time) in the same cycle. */
  speedup: number;
  speedupIqr: [number, number];
  /** fp32 p50 / variant p50. */
  p50Speedup: number;
  /** Median CPU time of the process per run, and fp32's over the variant's. */
  cpuP50Ms: number;
  cpuSpeedup: number;
  cosine: number;
  top1: number;
  modelBytes: number;
  fusedOps: Record<string, number>;
  target?: string;
}

function feedsFor(shape: number[], seed: number): Record<string, ort.Tensor> {
  const n = shape.reduce((a, d) => a * d, 1);
  return { x: new ort.Tensor('float32', randn(n, 1, normal(rng(seed))), shape) };
}

const KEY_OPS = [
  'com.microsoft.DynamicQuantizeMatMul',
  'com.microsoft.FusedGemm',
  'com.microsoft.MatMulIntegerToFloat',
  'MatMulInteger',
  'com.microsoft.MatMulNBits',
  'MatMul',
  'Gemm',
  'Cast',
  'com.microsoft.FusedMatMul',
];

const machine = machineInfo(THREADS);
console.error(`# bench/quantize.ts — ${machineLine(machine)}${quick ? ' (quick)' : ''}`);
const rows: Row[] = [];
const t0 = performance.now();
for (const c of CASES) {
  const base = c.build();
  const models: { v: Variant; model: Model; bytes: Uint8Array; fused: Record<string, number> }[] = [];
  for (const v of c.variants) {
    const model = await v.make(base);
    const counts = await optimizedOpCounts(model, { threads: THREADS });
    const fused: Record<string, number> = {};
    for (const k of KEY_OPS) if (counts.get(k)) fused[k.replace('com.microsoft.', '')] = counts.get(k)!;
    models.push({ v, model, bytes: serializeModel(model), fused });
  }
  // Agreement on a batch of 32 sequences (or the largest batch measured), against fp32.
  const agreeShape = c.shape(quick ? 4 : 32);
  const agreeFeeds = feedsFor(agreeShape, 77);
  const sessions = [];
  const reference: Float32Array[] = [];
  for (const m of models) {
    const s = await createSession(m.bytes, { threads: THREADS });
    const out = (await s.run(agreeFeeds))[s.outputNames[0]!]!.data as Float32Array;
    reference.push(out);
    sessions.push(s);
  }
  for (const batch of c.batches) {
    const feeds = feedsFor(c.shape(batch), 5);
    // Interleaved at the level of single runs (fp32, v1, v2, …, fp32, v1, …): every variant sees the same
    // load, and each cycle gives a paired ratio fp32 / variant whose median is the reported speedup.
    for (const s of sessions) for (let w = 0; w < 2; w++) await s.run(feeds);
    // Wall time, and the process's CPU time over the run: ORT runs on one intra-op thread without spinning
    // and the JS thread sleeps while it waits, so CPU time is the model's compute without the time this
    // process spent descheduled — the steadier figure on a shared machine.
    const samples: number[][] = models.map(() => []);
    const cpuSamples: number[][] = models.map(() => []);
    const start = performance.now();
    let cycles = 0;
    while (cycles < MIN_CYCLES || performance.now() - start < c.budgetMs(batch) * models.length) {
      for (let k = 0; k < models.length; k++) {
        const c0 = process.cpuUsage();
        const t = performance.now();
        await sessions[k]!.run(feeds);
        samples[k]!.push(performance.now() - t);
        const dc = process.cpuUsage(c0);
        cpuSamples[k]!.push((dc.user + dc.system) / 1000);
      }
      cycles++;
    }
    const p50fp32 = summarize(samples[0]!).p50;
    const cpu50fp32 = summarize(cpuSamples[0]!).p50;
    models.forEach((m, k) => {
      const s = summarize(samples[k]!);
      const cpu = summarize(cpuSamples[k]!);
      const target = c.target.find((t) => t.variant === m.v.name);
      const ratios = samples[k]!.map((t, i) => samples[0]![i]! / t).sort((a, b) => a - b);
      const speedup = ratios[ratios.length >> 1]!;
      const [lo, hi] = [ratios[Math.floor(ratios.length * 0.25)]!, ratios[Math.floor(ratios.length * 0.75)]!];
      rows.push({
        model: c.model,
        batch,
        variant: m.v.name,
        p50Ms: s.p50,
        p90Ms: s.p90,
        meanMs: s.mean,
        runs: s.count,
        speedup,
        speedupIqr: [lo, hi],
        p50Speedup: p50fp32 / s.p50,
        cpuP50Ms: cpu.p50,
        cpuSpeedup: cpu50fp32 / cpu.p50,
        cosine: cosine(reference[0]!, reference[k]!),
        top1: top1Agreement(reference[0]!, reference[k]!, c.classes),
        modelBytes: m.bytes.length,
        fusedOps: m.fused,
        target: target
          ? `≥${target.speedup}×: CPU time ${cpu50fp32 / cpu.p50 >= target.speedup ? 'met' : 'NOT met'}, wall ${speedup >= target.speedup ? 'met' : 'NOT met'}`
          : undefined,
      });
      console.error(
        `  ${c.model} b${batch} ${m.v.name}: p50 ${s.p50.toFixed(2)} ms (${s.count} runs), ${speedup.toFixed(2)}× (IQR ${lo.toFixed(2)}–${hi.toFixed(2)}), CPU-time ${cpu.p50.toFixed(2)} ms ${(cpu50fp32 / cpu.p50).toFixed(2)}×`,
      );
    });
  }
  for (const s of sessions) await s.release();
}

// ---- int4 methods on the BERT encoder (H384): same kernel, so the question is quality. Calibration
// (GPTQ) and agreement use different random inputs of the same distribution.
interface MethodRow {
  model: string;
  method: string;
  quantizeSeconds: number;
  cosine: number;
  top1: number;
  weightRelError: number;
  cpuP50Ms: number;
}
const methodRows: MethodRow[] = [];
{
  const shape = (b: number) => [b, 128, 384];
  const base = bertEncoder({ layers: 4, hidden: 384, heads: 6, seq: 128, classes: 4 });
  const agree = feedsFor(shape(quick ? 4 : 32), 77);
  const calibration = async function* () {
    for (let b = 0; b < (quick ? 1 : 4); b++) {
      const t = feedsFor(shape(4), 500 + b).x!;
      yield { x: { type: 'float32', dims: [...t.dims], data: t.data as Float32Array } };
    }
  };
  const run = async (m: Model, feeds: Record<string, ort.Tensor>) => {
    const s = await createSession(serializeModel(m), { threads: THREADS });
    const out = (await s.run(feeds))[s.outputNames[0]!]!.data as Float32Array;
    const b1 = feedsFor(shape(1), 5);
    const cpu: number[] = [];
    for (let i = 0; i < (quick ? 3 : 10); i++) {
      const c0 = process.cpuUsage();
      await s.run(b1);
      const d = process.cpuUsage(c0);
      cpu.push((d.user + d.system) / 1000);
    }
    await s.release();
    return { out, cpu: summarize(cpu).p50 };
  };
  const ref = await run(base, agree);
  const methods: [string, Parameters<typeof quantizeInt4>[1]][] = [
    ['rtn symmetric', { method: 'rtn' }],
    ['rtn asymmetric', { method: 'rtn', symmetric: false }],
    ['hqq (integer zero points)', { method: 'hqq' }],
    ['hqq (float zero points)', { method: 'hqq', floatZeroPoints: true }],
    ['gptq symmetric', { method: 'gptq' }],
    ['gptq asymmetric', { method: 'gptq', symmetric: false }],
  ];
  for (const [name, params] of methods) {
    const tq = performance.now();
    const { model, record } = await quantizeInt4(base, { ...params, blockSize: 32, accuracyLevel: 4 }, { calibration });
    const quantizeSeconds = (performance.now() - tq) / 1000;
    const r = await run(model, agree);
    methodRows.push({
      model: 'bert-encoder L4 H384 S128',
      method: name,
      quantizeSeconds,
      cosine: cosine(ref.out, r.out),
      top1: top1Agreement(ref.out, r.out, 4),
      weightRelError: Number(record.stats.weightRelError),
      cpuP50Ms: r.cpu,
    });
    console.error(
      `  int4 ${name}: cosine ${cosine(ref.out, r.out).toFixed(4)}, top-1 ${(top1Agreement(ref.out, r.out, 4) * 100).toFixed(0)}%, quantized in ${quantizeSeconds.toFixed(1)} s`,
    );
  }
  methodRows.unshift({
    model: 'bert-encoder L4 H384 S128',
    method: 'fp32 (reference)',
    quantizeSeconds: 0,
    cosine: 1,
    top1: 1,
    weightRelError: 0,
    cpuP50Ms: ref.cpu,
  });
}

const result = {
  schema: 'edgefit.bench.quantize/1',
  command: `node --import tsx bench/quantize.ts${quick ? ' --quick' : ''}`,
  date: new Date().toISOString(),
  machine,
  threads: THREADS,
  method: `per case, all variants' sessions created first and warmed (2 runs), then single runs interleaved (fp32, v1, v2, …) for a time budget (≥${MIN_CYCLES} cycles); speedup = median over cycles of fp32 time / variant time in the same cycle (IQR given); CPU-time speedup = fp32 median process CPU time per run / variant's (excludes time descheduled by other load); agreement on ${quick ? 4 : 32} random inputs vs fp32`,
  wallSeconds: (performance.now() - t0) / 1000,
  rows,
  int4Methods: methodRows,
};
mkdirSync(dirname(outPath), { recursive: true });
writeFileAtomic(outPath, JSON.stringify(result, null, 2) + '\n');

const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '—');
const lines = [
  `Machine: ${machineLine(machine)}. Command: \`${result.command}\`. ${result.method}.`,
  '',
  '| model | batch | variant | p50 ms (wall) | speedup vs fp32, wall (IQR) | speedup, CPU time | cosine | top-1 agree | size MB | ORT kernels after optimization | target |',
  '|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.batch} | ${r.variant} | ${fmt(r.p50Ms)} | ${fmt(r.speedup)}× (${fmt(r.speedupIqr[0])}–${fmt(r.speedupIqr[1])}) | ${fmt(r.cpuSpeedup)}× | ${fmt(r.cosine, 4)} | ${fmt(r.top1 * 100, 0)}% | ${fmt(r.modelBytes / 2 ** 20, 1)} | ${Object.entries(
        r.fusedOps,
      )
        .map(([k, v]) => `${k}×${v}`)
        .join(' ')} | ${r.target ?? ''} |`,
  ),
];
lines.push(
  '',
  `int4 methods (block 32, accuracy_level 4) on the BERT encoder H384: agreement with fp32 on ${quick ? 4 : 32} random inputs; GPTQ calibrated on ${quick ? 4 : 16} other random sequences; CPU time at batch 1.`,
  '',
  '| model | method | cosine | top-1 agree | weight rel. error | quantize s | CPU ms b1 |',
  '|---|---|---|---|---|---|---|',
  ...methodRows.map(
    (r) =>
      `| ${r.model} | ${r.method} | ${fmt(r.cosine, 4)} | ${fmt(r.top1 * 100, 0)}% | ${fmt(r.weightRelError, 4)} | ${fmt(r.quantizeSeconds, 1)} | ${fmt(r.cpuP50Ms)} |`,
  ),
);
console.log(lines.join('\n'));
writeFileAtomic(outPath.replace(/\.json$/, '.md'), lines.join('\n') + '\n');
console.error(`wrote ${outPath} and .md (${result.wallSeconds.toFixed(0)} s)`);
