// Evidence for clean-fp32 ("fp32, cleaned", issue 13) on the default model, PaddleOCR PP-OCRv4 rec:
// the shipped fp32 model against the cleaned one, and each rule's share (all rules but that one), timed
// round-robin in one process (order rotated each round, 1 thread, ORT level 'all') with p50/p99 and 95%
// bootstrap intervals; outputs compared on rendered serials; CER on the serials task; and static int8
// from the shipped model against static int8 from the cleaned one (does cleaning first help int8?).
//   npm run bench -- clean        (CLEAN_ROUNDS=n, default 30; CLEAN_ITERATIONS=n per round, default 20)
// The int8 rows include the search's scope=compute and int8-chains variants after clean-fp32.
// Writes bench/results/clean-rec.json. CLEAN_SHARES=1 times only the fp32 variants (no int8, no CER),
// 60 rounds by default, for a tighter figure of each rule's share: bench/results/clean-rec-shares.json.

import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';
import { machineLine } from '../src/bench/machine.js';
import { table, writeBenchFile } from '../src/bench/results.js';
import { calibrationFeeds, loadTask, type Task } from '../src/data/task.js';
import { evaluate } from '../src/eval/evaluate.js';
import type { Model } from '../src/onnx/model.js';
import { readModel } from '../src/onnx/read-model.js';
import { cleanFp32 } from '../src/passes/clean-fp32.js';
import { CLEAN_RULES } from '../src/passes/clean/rules.js';
import { cosine, maxAbsDiff, optimizedOpCounts } from '../src/passes/quant/ort-check.js';
import { quantizeStatic, quantizeStaticPass } from '../src/passes/quantize-static.js';
import { createSession } from '../src/runtime/session.js';
import { latencyFigures, quantileSorted } from '../src/search/stats.js';
import { mulberry32 } from '../src/util/rng.js';
import { firstFeeds, roundRobin } from './lib/round-robin.js';

const THREADS = 1;
const SHARES = process.env.CLEAN_SHARES === '1';
const ROUNDS = Number(process.env.CLEAN_ROUNDS ?? (SHARES ? 60 : 30));
const ITERATIONS = Number(process.env.CLEAN_ITERATIONS ?? 20);
const FILE = 'ch_PP-OCRv4_rec_infer.onnx';
const SOURCE = join(process.cwd(), 'node_modules', '@gutenye', 'ocr-models', 'assets', FILE);
const TASK = 'serials';
const EVAL_N = SHARES ? 0 : 200;
const log = (s: string) => process.stderr.write(`${s}\n`);

const cleaned = (m: Model, rules = CLEAN_RULES) => {
  const out = m.clone();
  const { counts } = cleanFp32(out, rules);
  return { model: out, counts };
};

// ── the variants ─────────────────────────────────────────────────────────────────────────────────
const source = readModel(SOURCE);
const clean = cleaned(source);
log(`cleaned: ${JSON.stringify(clean.counts)}; nodes ${source.graph.nodes.length} → ${clean.model.graph.nodes.length}`);
const variants: { name: string; model: Model; kind: 'fp32' | 'int8'; rules?: Record<string, number> }[] = [
  { name: 'source', model: source, kind: 'fp32' },
  { name: 'clean-fp32', model: clean.model, kind: 'fp32', rules: clean.counts },
];
for (const r of CLEAN_RULES) {
  const c = cleaned(
    source,
    CLEAN_RULES.filter((x) => x !== r),
  );
  variants.push({ name: `clean-fp32 without ${r.name}`, model: c.model, kind: 'fp32', rules: c.counts });
}
if (!SHARES) {
  const calib = await loadTask(TASK, { split: 'train', limit: 64 });
  const ctx = { calibration: calibrationFeeds(calib, 64, { input: 'x' }) };
  variants.push({ name: 'source → quantize-static', model: (await quantizeStatic(source, {}, ctx)).model, kind: 'int8' });
  variants.push({ name: 'clean-fp32 → quantize-static', model: (await quantizeStatic(clean.model, {}, ctx)).model, kind: 'int8' });
  // the search's other picks: scope=compute, and the int8-chains preset (every conv int8, uint8 HardSwish)
  const preset = quantizeStaticPass.presets!.find((p) => p.tag === 'int8-chains')!.params;
  variants.push({
    name: 'clean-fp32 → quantize-static scope=compute',
    model: (await quantizeStatic(clean.model, { scope: 'compute' }, ctx)).model,
    kind: 'int8',
  });
  variants.push({ name: 'clean-fp32 → quantize-static int8-chains', model: (await quantizeStatic(clean.model, preset, ctx)).model, kind: 'int8' });
}

// ── what ORT runs: its optimized graph (level 'all') of each variant, by op type ─────────────────
const ortOps: Record<string, number>[] = [];
for (const v of variants) ortOps.push(Object.fromEntries([...(await optimizedOpCounts(v.model, { threads: THREADS })).entries()].sort()));
const ortNodes = ortOps.map((o) => Object.values(o).reduce((a, b) => a + b, 0));

// ── quality: outputs against the source on the same images, and CER on the task ─────────────────
const test = await loadTask(TASK, { split: 'test', limit: Math.max(EVAL_N, 32) });
async function outputs(s: ort.InferenceSession, t: Task, n: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const b of t.batches({ batchSize: 1, input: 'x' })) {
    if (out.length >= n) break;
    out.push((await s.run(b.feeds))[s.outputNames[0]!]!.data as Float32Array);
  }
  return out;
}
const sessions = await Promise.all(variants.map((v) => createSession(v.model, { threads: THREADS, graphOptimizationLevel: 'all' })));
const refOut = await outputs(sessions[0]!, test, 32);
const quality: {
  variant: string;
  maxAbsVsSource: number;
  minCosineVsSource: number;
  images: number;
  primary?: { name: string; value: number; ci: [number, number] };
  n: number;
}[] = [];
for (const [k, v] of variants.entries()) {
  const got = await outputs(sessions[k]!, test, 32);
  const maxAbs = Math.max(...got.map((g, i) => maxAbsDiff(refOut[i]!, g)));
  const minCos = Math.min(...got.map((g, i) => cosine(refOut[i]!, g)));
  const e = EVAL_N ? await evaluate(sessions[k]!, test, { limit: EVAL_N, batchSize: 8 }) : undefined;
  quality.push({ variant: v.name, maxAbsVsSource: maxAbs, minCosineVsSource: minCos, images: got.length, primary: e?.primary, n: e?.n ?? 0 });
  log(`${v.name}: max|diff| ${maxAbs.toExponential(2)}, min cosine ${minCos.toFixed(7)}${e ? `, ${e.primary.name} ${e.primary.value.toFixed(4)}` : ''}`);
}

// ── latency: round-robin, order rotated each round, one real image ──────────────────────────────
const feeds = await firstFeeds(test, 'x');
const t0 = performance.now();
const samples = await roundRobin(sessions, feeds, { rounds: ROUNDS, iterations: ITERATIONS, log });
log(`timed in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
for (const s of sessions) await s.release();

/** 95% bootstrap interval of the ratio of two samples' quantile q (a / b). */
function ratioCi(a: number[], b: number[], q: number, seed = 7): [number, number] {
  const r = mulberry32(seed);
  const draw = (xs: number[]) => Float64Array.from(xs, () => xs[Math.floor(r() * xs.length)]!).sort();
  const d = Float64Array.from({ length: 1000 }, () => quantileSorted(draw(a), q) / quantileSorted(draw(b), q)).sort();
  return [quantileSorted(d, 0.025), quantileSorted(d, 0.975)];
}
const figs = samples.map((s) => latencyFigures(s));
const rows = variants.map((v, k) => {
  const f = figs[k]!;
  const { samplesMs: _, ...lat } = f;
  return {
    variant: v.name,
    kind: v.kind,
    rules: v.rules,
    nodes: v.model.graph.nodes.length,
    ortNodes: ortNodes[k],
    ortOps: ortOps[k],
    latencyMs: lat,
    speedupP50: figs[0]!.p50 / f.p50,
    speedupP50Ci: ratioCi(samples[0]!, samples[k]!, 0.5),
    speedupP99: figs[0]!.p99 / f.p99,
    speedupP99Ci: ratioCi(samples[0]!, samples[k]!, 0.99),
    /** For a variant with one rule left out: its p50 over clean-fp32's, i.e. what that rule buys on top of the others. */
    ruleShareP50: v.name.startsWith('clean-fp32 without') ? { ratio: f.p50 / figs[1]!.p50, ci: ratioCi(samples[k]!, samples[1]!, 0.5) } : undefined,
    quality: quality[k],
  };
});
const ci = (c: [number, number] | undefined) => (c ? `[${c[0].toFixed(2)}, ${c[1].toFixed(2)}]` : '');
const path = writeBenchFile(SHARES ? 'clean-rec-shares' : 'clean-rec', THREADS, {
  /** The command that produced this file (the file's own `command` names the file, not the script). */
  command: `${SHARES ? 'CLEAN_SHARES=1 ' : ''}npm run bench -- clean`,
  model: FILE,
  task: TASK,
  rounds: ROUNDS,
  iterationsPerRound: ITERATIONS,
  optimizationLevel: 'all',
  rows,
});
const { machine } = JSON.parse((await import('node:fs')).readFileSync(path, 'utf8'));
console.log(`machine: ${machineLine(machine)}; load average at the end ${machine.loadAverage.join(' / ')}`);
console.log(
  table(
    ['variant', 'nodes', 'ORT nodes', 'p50 ms [95%]', 'p99 ms [95%]', 'p50 speed-up [95%]', 'p99 speed-up [95%]', 'max|diff|', 'min cos', 'CER'],
    rows.map((r) => [
      r.variant,
      r.nodes,
      r.ortNodes!,
      `${r.latencyMs.p50.toFixed(2)} ${ci(r.latencyMs.ci.p50)}`,
      `${r.latencyMs.p99.toFixed(2)} ${ci(r.latencyMs.ci.p99)}`,
      `${r.speedupP50.toFixed(3)} ${ci(r.speedupP50Ci)}`,
      `${r.speedupP99.toFixed(3)} ${ci(r.speedupP99Ci)}`,
      r.quality!.maxAbsVsSource.toExponential(1),
      r.quality!.minCosineVsSource.toFixed(6),
      r.quality!.primary ? `${r.quality!.primary.value.toFixed(4)} ${ci(r.quality!.primary.ci)}` : '',
    ]),
  ),
);
for (const r of rows.filter((x) => x.ruleShareP50))
  console.log(
    `${r.variant.replace('clean-fp32 without ', '')} buys ${r.ruleShareP50!.ratio.toFixed(3)}× p50 on top of the other rules ${ci(r.ruleShareP50!.ci)}`,
  );
console.log(`wrote ${path}`);
