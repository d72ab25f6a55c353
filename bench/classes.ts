// Evidence for prune-classes (the head narrowed to the classes the task uses) on the default model,
// PaddleOCR PP-OCRv4 rec on `serials`: each variant with and without the pass, fp32 and the search's
// int8-chains form, timed round-robin in one process (order rotated each round, 1 thread, ORT level
// 'all') with p50/p99 and 95% bootstrap intervals of each pair's ratio; CER on the test split; file size.
//   npm run bench -- classes      (CLASSES_ROUNDS=n, default 30; CLASSES_ITERATIONS=n per round, default 20)
// Calibration is the search's: 32 items of the train split, for prune-classes and the quantizer alike.
// Writes bench/results/prune-classes-rec.json.

import { join } from 'node:path';
import { machineLine } from '../src/bench/machine.js';
import { table, writeBenchFile } from '../src/bench/results.js';
import { calibrationFeeds, loadTask } from '../src/data/task.js';
import { evaluate } from '../src/eval/evaluate.js';
import type { Model } from '../src/onnx/model.js';
import { readModel } from '../src/onnx/read-model.js';
import { serializeModel } from '../src/onnx/write-model.js';
import type { PassRecord } from '../src/passes/pass.js';
import { validateParams } from '../src/passes/params.js';
import { findPass } from '../src/passes/registry.js';
import { createSession } from '../src/runtime/session.js';
import { latencyFigures } from '../src/search/stats.js';
import { firstFeeds, roundRobin } from './lib/round-robin.js';
import { speedupInterval } from './lib/ratio-interval.js';

const THREADS = 1;
const ROUNDS = Number(process.env.CLASSES_ROUNDS ?? 30);
const ITERATIONS = Number(process.env.CLASSES_ITERATIONS ?? 20);
const FILE = 'ch_PP-OCRv4_rec_infer.onnx';
const SOURCE = join(process.cwd(), 'node_modules', '@gutenye', 'ocr-models', 'assets', FILE);
const TASK = 'serials';
const EVAL_N = 200;
const log = (s: string) => process.stderr.write(`${s}\n`);

const calib = await loadTask(TASK, { split: 'train', limit: 32 });
const ctx = { calibration: calibrationFeeds(calib, 32, { input: 'x' }), seed: 0 };
const records: PassRecord[] = [];
async function apply(m: Model, name: string, raw: Record<string, unknown> = {}): Promise<Model> {
  const p = findPass(name)!;
  const r = await p.run(m.clone(), validateParams(name, p.params, raw), ctx);
  if (name === 'prune-classes') records.push(r.record);
  return r.model;
}

// ── the variants: [without, with] prune-classes, at each step of the search's chain ──────────────
let prepared = readModel(SOURCE);
for (const name of ['constants-to-initializers', 'upgrade-opset']) prepared = await apply(prepared, name);
const clean = await apply(prepared, 'clean-fp32');
const preset = findPass('quantize-static')!.presets!.find((p) => p.tag === 'int8-chains')!.params;
const variants: { name: string; model: Model }[] = [
  { name: 'source (prepared)', model: prepared },
  { name: 'prune-classes', model: await apply(prepared, 'prune-classes') },
  { name: 'clean-fp32', model: clean },
  { name: 'clean-fp32 → prune-classes', model: await apply(clean, 'prune-classes') },
  { name: 'clean-fp32 → int8-chains', model: await apply(clean, 'quantize-static', preset) },
];
variants.push({ name: 'clean-fp32 → prune-classes → int8-chains', model: await apply(variants[3]!.model, 'quantize-static', preset) });
for (const r of records) log(`prune-classes: ${r.notes.join('; ')}`);

// ── quality on the test split, and the latency round-robin on one real image ─────────────────────
const test = await loadTask(TASK, { split: 'test', limit: EVAL_N });
const sessions = await Promise.all(variants.map((v) => createSession(v.model, { threads: THREADS, graphOptimizationLevel: 'all' })));
const quality: { primary: { name: string; value: number; ci: [number, number] }; n: number; cerIgnoreWs: unknown }[] = [];
for (const [k, v] of variants.entries()) {
  const e = await evaluate(sessions[k]!, test, { limit: EVAL_N, batchSize: 8 });
  quality.push({ primary: e.primary, n: e.n, cerIgnoreWs: e.metrics?.['cer-ignore-ws'] });
  log(`${v.name}: ${e.primary.name} ${e.primary.value.toFixed(4)}`);
}
const feeds = await firstFeeds(test, 'x');
const samples = await roundRobin(sessions, feeds, { rounds: ROUNDS, iterations: ITERATIONS, log });
for (const s of sessions) await s.release();

// ── each "with" against its "without" (odd rows against the row before), and all against the source ─
const rows = variants.map((v, k) => {
  const { samplesMs: _, ...lat } = latencyFigures(samples[k]!);
  const without = k % 2 === 1 ? k - 1 : undefined;
  return {
    variant: v.name,
    sizeBytes: serializeModel(v.model).byteLength,
    latencyMs: lat,
    vsSource: { p50: speedupInterval(samples[0]!, samples[k]!, 'p50'), p99: speedupInterval(samples[0]!, samples[k]!, 'p99') },
    ...(without !== undefined
      ? { vsWithout: { p50: speedupInterval(samples[without]!, samples[k]!, 'p50'), p99: speedupInterval(samples[without]!, samples[k]!, 'p99') } }
      : {}),
    quality: quality[k],
  };
});
const path = writeBenchFile('prune-classes-rec', THREADS, {
  command: 'npm run bench -- classes',
  model: FILE,
  task: TASK,
  rounds: ROUNDS,
  iterationsPerRound: ITERATIONS,
  calibrationItems: 32,
  passRecords: records,
  rows,
});
const { machine } = JSON.parse((await import('node:fs')).readFileSync(path, 'utf8'));
console.log(`machine: ${machineLine(machine)}; load average at the end ${machine.loadAverage.join(' / ')}`);
const fx = (s: { value: number; ci: [number, number] }) => `${s.value.toFixed(3)} [${s.ci[0].toFixed(3)}, ${s.ci[1].toFixed(3)}]`;
console.log(
  table(
    ['variant', 'MB', 'p50 ms', 'p99 ms', 'p50 vs without [95%]', 'p99 vs without [95%]', 'p50 vs source', 'CER'],
    rows.map((r) => [
      r.variant,
      (r.sizeBytes / 1e6).toFixed(2),
      r.latencyMs.p50.toFixed(2),
      r.latencyMs.p99.toFixed(2),
      r.vsWithout ? fx(r.vsWithout.p50) : '',
      r.vsWithout ? fx(r.vsWithout.p99) : '',
      r.vsSource.p50.value.toFixed(3),
      `${r.quality!.primary.value.toFixed(4)}`,
    ]),
  ),
);
console.log(`wrote ${path}`);
