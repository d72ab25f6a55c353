// Issue 9's promise, per model class: "bring a model and a few hundred of your own unlabelled samples".
// For each exporter-style zoo model (bench/lib/exporter-cases.ts) it writes the model and 120 task-like
// samples as .npy, then runs the real CLI twice:
//   A. `edgefit optimize model.onnx --data data.npy`   (calibrates on 70%, judges agreement on the other 30%)
//   B. `edgefit optimize model.onnx --allow-random`    (what a user without data gets: random calibration and
//                                                       agreement measured on random inputs)
// then C: run A's chosen chain rebuilt with the same passes but calibrated on random inputs (when a pass in
// it calibrates): what the choice would have been worth without the user's data. All three are scored
// against the source on 48 further samples that none of them saw, with onnxruntime-node directly (no
// edgefit code in the scoring), by the metric that fits the output.
//   npm run bench -- your-data        (BENCH_TIME_LIMIT per optimize run, default 90s; BENCH_ONLY=a,b;
//                                      BENCH_REUSE=1 keeps optimize runs that finished before)
// Writes bench/results/your-data.json and prints a table.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { table, writeBenchFile } from '../src/bench/results.js';
import { encodeNpy } from '../src/data/npy.js';
import { writeFileAtomic, writeModel } from '../src/onnx/write-model.js';
import { readModel } from '../src/onnx/read-model.js';
import type { Feeds } from '../src/passes/pass.js';
import { applyPasses, passFor, type Step } from '../src/passes/pipeline.js';
import { cosine } from '../src/passes/quant/ort-check.js';
import { PASSES } from '../src/passes/registry.js';
import { synthesizeFeeds } from '../src/runtime/inputs.js';
import { type Case, exporterCases, type Item } from './lib/exporter-cases.js';

const TIME_LIMIT = process.env.BENCH_TIME_LIMIT ?? '90s';
const REUSE = process.env.BENCH_REUSE === '1';
const ONLY = process.env.BENCH_ONLY?.split(',');
const SAMPLES = 120;
const UNSEEN = 48;
const ROOT = join('tmp', 'your-data');
const cli = ['--import', 'tsx', 'scripts/edgefit-dev.mjs'];
/** Inputs the user fixes by flag rather than by data: the VAD's sample rate (its state starts at zero by itself). */
const VALUES: Record<string, string[]> = { 'vad-recurrent': ['--value', 'sr=16000'] };
const FIXED = new Set(['sr', 'state']);

/** Writes the samples of every data-carrying input: one .npy for a single input, a folder of <input>.npy otherwise. */
function writeData(c: Case, seeds: number[], path: string): string {
  const items = seeds.map((s) => c.item(s));
  const names = Object.keys(items[0]!).filter((n) => !FIXED.has(n));
  const npy = (n: string) => {
    const t = items[0]![n]!;
    const per = t.data.length;
    const all = new Float32Array(per * items.length);
    for (const [k, it] of items.entries()) all.set(it[n]!.data as Float32Array, k * per);
    return encodeNpy(all, [items.length, ...t.dims.slice(1)]);
  };
  if (names.length === 1) {
    writeFileAtomic(`${path}.npy`, npy(names[0]!));
    return `${path}.npy`;
  }
  mkdirSync(path, { recursive: true });
  for (const n of names) writeFileAtomic(join(path, `${n}.npy`), npy(n));
  return path;
}

interface RunOutcome {
  exit: number | null;
  chain: string;
  steps: Step[];
  modelPath: string;
  speedupP99?: number;
  speedupP50?: number;
  beyondNoise?: boolean;
  reported?: { name: string; value: number; ci: [number, number] };
  quality: string;
  wallS: number;
}

function optimize(modelPath: string, out: string, flags: string[]): RunOutcome {
  const file = join(out, 'summary.json');
  const marker = join(out, 'bench-exit.json');
  let exit: number | null;
  let wallS: number;
  if (REUSE && existsSync(file) && existsSync(marker)) ({ exit, wallS } = JSON.parse(readFileSync(marker, 'utf8')));
  else {
    rmSync(out, { recursive: true, force: true });
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [...cli, 'optimize', modelPath, '--time-limit', TIME_LIMIT, '--out', out, ...flags], { encoding: 'utf8' });
    wallS = (performance.now() - t0) / 1000;
    exit = r.status;
    if (!existsSync(file)) throw new Error(`optimize wrote no summary (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
    writeFileAtomic(marker, JSON.stringify({ exit, wallS }));
  }
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const id = s.chosen ?? s.baseline;
  const cand = s.candidates.find((c: { id: string }) => c.id === id);
  const base = s.candidates.find((c: { id: string }) => c.id === s.baseline);
  const m = cand.full ?? cand.screen;
  const chain = cand.config.passes.length ? cand.config.passes.map((p: { name: string }) => p.name).join(' → ') : 'source (nothing chosen)';
  return {
    exit,
    chain,
    steps: cand.config.passes,
    modelPath: join(out, 'candidates', id, 'model.onnx'),
    speedupP99: s.vsBaseline?.speedup,
    speedupP50: base?.full && cand.full && id !== s.baseline ? base.full.latency.p50 / cand.full.latency.p50 : undefined,
    beyondNoise: s.vsBaseline?.beyondNoise,
    reported: m.quality?.primary,
    quality: s.quality?.basis ?? 'unknown',
    wallS,
  };
}

/** Run A's chain again, every calibrating pass fed random inputs (as a user without data would calibrate); undefined when nothing in it calibrates. */
async function randomCalibrated(c: Case, modelPath: string, steps: Step[], out: string): Promise<string | undefined> {
  if (!steps.some((st) => passFor(st, PASSES, c.name).needsCalibration)) return undefined;
  const source = readModel(modelPath);
  const values = Object.fromEntries((VALUES[c.name] ?? []).filter((_, i, a) => a[i - 1] === '--value').map((v) => [v.split('=')[0]!, Number(v.split('=')[1])]));
  const calibration = async function* (): AsyncIterable<Feeds> {
    for (let k = 0; k < 32; k++) {
      const f = synthesizeFeeds(source, { values, seed: 1000 + k });
      yield Object.fromEntries(Object.entries(f).map(([n, t]) => [n, { type: t.type, dims: [...t.dims], data: t.data as Float32Array }]));
    }
  };
  const { model } = await applyPasses(source, steps, PASSES, { calibration, seed: 0 }, `${c.name} random-calibrated`);
  writeModel(model, out);
  return out;
}

/** Agreement of a model with the source on items neither run saw, by the case's metric (first output). */
async function unseenAgreement(c: Case, source: string, model: string, items: Item[]): Promise<{ value: number; minCosine: number }> {
  const opts = { intraOpNumThreads: 1, logSeverityLevel: 3 as const };
  const [a, b] = await Promise.all([ort.InferenceSession.create(source, opts), ort.InferenceSession.create(model, opts)]);
  const out = a.outputNames[0]!;
  let sum = 0;
  let minCos = 1;
  for (const it of items) {
    const r = (await a.run(it))[out]!.data as Float32Array;
    const g = (await b.run(it))[out]!.data as Float32Array;
    minCos = Math.min(minCos, cosine(r, g));
    if (c.metric === 'top1') sum += r.indexOf(Math.max(...r)) === g.indexOf(Math.max(...g)) ? 1 : 0;
    else if (c.metric === 'decision') sum += r.every((v, k) => v > 0.5 === g[k]! > 0.5) ? 1 : 0;
    else if (c.metric === 'cosine') sum += cosine(r, g);
    else {
      let inter = 0;
      let union = 0;
      r.forEach((v, k) => {
        inter += v > 0.5 && g[k]! > 0.5 ? 1 : 0;
        union += v > 0.5 || g[k]! > 0.5 ? 1 : 0;
      });
      sum += union ? inter / union : 1;
    }
  }
  await Promise.all([a.release(), b.release()]);
  return { value: sum / items.length, minCosine: minCos };
}

const rows: Record<string, unknown>[] = [];
const loadAtStart = machineInfo(1).loadAverage;
for (const c of exporterCases(64).filter((x) => !ONLY || ONLY.includes(x.name))) {
  const dir = join(ROOT, c.name);
  mkdirSync(dir, { recursive: true });
  const modelPath = join(dir, 'model.onnx');
  writeModel(c.build(), modelPath);
  const data = writeData(
    c,
    Array.from({ length: SAMPLES }, (_, k) => 1 + k),
    join(dir, 'data'),
  );
  const unseen = Array.from({ length: UNSEEN }, (_, k) => c.item(5000 + k));
  const values = VALUES[c.name] ?? [];
  for (const [mode, flags] of [
    ['--data', ['--data', data, ...values]],
    ['random', ['--allow-random', ...values]],
  ] as const) {
    const o = optimize(modelPath, join(dir, mode === '--data' ? 'run-data' : 'run-random'), [...flags]);
    const u = await unseenAgreement(c, modelPath, o.modelPath, unseen);
    rows.push({ model: c.name, class: c.cls, calibration: mode, metric: c.metric, ...o, unseen: u });
    console.error(
      `${c.name} ${mode}: ${o.chain}, reported ${o.reported?.name} ${o.reported?.value.toFixed(4)}, unseen ${u.value.toFixed(4)} (${o.wallS.toFixed(0)} s)`,
    );
    if (mode !== '--data') continue;
    const rc = await randomCalibrated(c, modelPath, o.steps, join(dir, 'random-calibrated.onnx'));
    if (!rc) continue;
    const ur = await unseenAgreement(c, modelPath, rc, unseen);
    rows.push({ model: c.name, class: c.cls, calibration: 'A, random cal.', metric: c.metric, chain: o.chain, unseen: ur, exit: null });
    console.error(`${c.name}: A's chain calibrated on random inputs: unseen ${ur.value.toFixed(4)}`);
  }
}

const m = machineInfo(1);
console.log(machineLine(m));
console.log(
  table(
    ['model', 'run', 'chosen chain', 'p50 speed-up', 'p99 (same run)', 'reported agreement', 'on unseen samples', 'min cos', 'exit'],
    rows.map((r) => {
      const rep = r.reported as RunOutcome['reported'];
      const u = r.unseen as { value: number; minCosine: number };
      return [
        String(r.model),
        String(r.calibration),
        String(r.chain),
        r.speedupP50 === undefined ? '—' : `${(r.speedupP50 as number).toFixed(2)}×`,
        r.speedupP99 === undefined ? '—' : `${(r.speedupP99 as number).toFixed(2)}×${r.beyondNoise ? '' : ' (noise)'}`,
        rep ? `${rep.name} ${rep.value.toFixed(4)} (${r.quality})` : '—',
        `${r.metric} ${u.value.toFixed(4)}`,
        u.minCosine.toFixed(4),
        r.exit === null ? '' : String(r.exit),
      ];
    }),
  ),
);
const path = writeBenchFile('your-data', 1, { timeLimit: TIME_LIMIT, samples: SAMPLES, unseen: UNSEEN, loadAtStart, rows });
console.log(`wrote ${path}`);
