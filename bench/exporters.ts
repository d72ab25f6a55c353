// Exporter-style zoo models (issue 9): per class, the source export in fp32 against what edgefit's
// passes make of it — static int8 (QDQ, calibrated on generated task-like data) and dynamic int8
// where the model has MatMul/Gemm — timed interleaved in one process (1 thread, batch 1, p50/p99),
// with agreement with the source on held-out items that calibration never saw. Also: how many nodes
// static and dynamic int8 quantized inside the VAD's If branches.
//   node --import tsx bench/exporters.ts [--quick] [--only torch-resnet,…] [--rounds N]
// --only reruns those models and keeps the other models' rows of the last results file.
// Writes bench/results/exporters.json and prints a table.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { table, writeBenchFile } from '../src/bench/results.js';
import { quantileSorted } from '../src/bench/stats.js';
import type { Model } from '../src/onnx/model.js';
import type { Feeds, PassRecord } from '../src/passes/pass.js';
import { cosine } from '../src/passes/quant/ort-check.js';
import { quantizeDynamic } from '../src/passes/quantize-dynamic.js';
import { quantizeStatic } from '../src/passes/quantize-static.js';
import { createSession } from '../src/runtime/session.js';
import { type Case, exporterCases, type Item } from './lib/exporter-cases.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : undefined;
const ROUNDS = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : quick ? 4 : 10;
const THREADS = 1;

const S = quick ? 32 : 64;
const CASES = exporterCases(S);

// ── agreement ────────────────────────────────────────────────────────────────────────────────────
function agreement(metric: Case['metric'], ref: Float32Array[], got: Float32Array[]): Record<string, number> {
  const per = ref.map((r, i) => {
    const g = got[i]!;
    if (metric === 'cosine') return cosine(r, g);
    if (metric === 'top1') return r.indexOf(Math.max(...r)) === g.indexOf(Math.max(...g)) ? 1 : 0;
    if (metric === 'decision') return r.every((v, k) => v > 0.5 === g[k]! > 0.5) ? 1 : 0;
    let inter = 0;
    let union = 0;
    r.forEach((v, k) => {
      const [a, b] = [v > 0.5, g[k]! > 0.5];
      if (a && b) inter++;
      if (a || b) union++;
    });
    return union ? inter / union : 1;
  });
  let maxAbs = 0;
  let cos = 0;
  ref.forEach((r, i) => {
    cos += cosine(r, got[i]!) / ref.length;
    for (let k = 0; k < r.length; k++) maxAbs = Math.max(maxAbs, Math.abs(r[k]! - got[i]![k]!));
  });
  return {
    [metric]: per.reduce((a, v) => a + v, 0) / per.length,
    minCosine: Math.min(...ref.map((r, i) => cosine(r, got[i]!))),
    meanCosine: cos,
    maxAbsDiff: maxAbs,
  };
}

async function outputs(model: Model, items: Item[]): Promise<Float32Array[]> {
  const s = await createSession(model, { threads: THREADS });
  const out: Float32Array[] = [];
  for (const it of items) out.push(Float32Array.from((await s.run(it))[s.outputNames[0]!]!.data as Float32Array));
  await s.release();
  return out;
}

/** Interleaved timing: rounds alternate the order; every run of every round is a sample. */
async function timeInterleaved(models: Model[], feeds: Item, rounds: number, iters: number): Promise<{ p50: number; p99: number; min: number }[]> {
  const sessions = await Promise.all(models.map((m) => createSession(m, { threads: THREADS })));
  const samples = models.map(() => [] as number[]);
  for (const s of sessions) for (let k = 0; k < 5; k++) await s.run(feeds);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sessions.map((_, i) => i) : sessions.map((_, i) => i).reverse();
    for (const i of order)
      for (let k = 0; k < iters; k++) {
        const t0 = performance.now();
        await sessions[i]!.run(feeds);
        samples[i]!.push(performance.now() - t0);
      }
  }
  for (const s of sessions) await s.release();
  return samples.map((x) => {
    const s = Float64Array.from(x).sort();
    return { p50: quantileSorted(s, 0.5), p99: quantileSorted(s, 0.99), min: s[0]! };
  });
}

const toFeeds = (it: Item): Feeds =>
  Object.fromEntries(Object.entries(it).map(([k, t]) => [k, { type: t.type, dims: [...t.dims], data: t.data as Float32Array }]));

interface Row {
  model: string;
  class: string;
  variant: string;
  p50Ms: number;
  p99Ms: number;
  speedupP50: number;
  speedupP99: number;
  speedupMin: number;
  agreement: Record<string, number>;
  quantizedNodes?: number;
  quantizedInSubgraphs?: number;
  notes: string[];
}

const rows: Row[] = [];
const heldOut = quick ? 16 : 48;
for (const c of CASES.filter((x) => !only || only.includes(x.name))) {
  const source = c.build();
  // Calibration items (seeds 1000+) never overlap the held-out items (seeds 1..heldOut).
  const calibration = async function* (): AsyncIterable<Feeds> {
    for (let k = 0; k < (quick ? 16 : 64); k++) yield toFeeds(c.item(1000 + k));
  };
  const items = Array.from({ length: heldOut }, (_, k) => c.item(1 + k));
  const variants: { name: string; model: Model; record?: PassRecord }[] = [{ name: 'fp32 (source)', model: source }];
  const st = await quantizeStatic(source, {}, { calibration });
  variants.push({ name: 'int8 static', model: st.model, record: st.record });
  if (c.dynamic) {
    const dy = await quantizeDynamic(source, {});
    variants.push({ name: 'int8 dynamic', model: dy.model, record: dy.record });
  }
  const ref = await outputs(source, items);
  const times = await timeInterleaved(
    variants.map((v) => v.model),
    items[0]!,
    ROUNDS,
    quick ? 10 : 30,
  );
  for (const [i, v] of variants.entries()) {
    const t = times[i]!;
    const got = i === 0 ? ref : await outputs(v.model, items);
    const stats = v.record?.stats ?? {};
    rows.push({
      model: c.name,
      class: c.cls,
      variant: v.name,
      p50Ms: t.p50,
      p99Ms: t.p99,
      speedupP50: times[0]!.p50 / t.p50,
      speedupP99: times[0]!.p99 / t.p99,
      speedupMin: times[0]!.min / t.min,
      agreement: agreement(c.metric, ref, got),
      quantizedNodes: Number(stats.quantizedNodes ?? stats.quantized ?? 0) || undefined,
      quantizedInSubgraphs: Number(stats.quantizedInSubgraphs ?? 0) || undefined,
      notes: v.record?.notes ?? [],
    });
  }
  console.error(`${c.name}: done`);
}

if (only) {
  const prev = join(process.cwd(), 'bench', 'results', 'exporters.json');
  if (existsSync(prev)) {
    const kept = (JSON.parse(readFileSync(prev, 'utf8')) as { results: { rows: Row[] } }).results.rows.filter((r) => !only.includes(r.model));
    rows.unshift(...kept);
  }
}
const m = machineInfo(THREADS);
console.log(machineLine(m));
console.log(
  table(
    ['model', 'variant', 'p50 ms', 'p99 ms', 'speed-up p50', 'p99', 'min', 'agreement', 'min cos', 'in If'],
    rows.map((r) => [
      r.model,
      r.variant,
      r.p50Ms.toFixed(3),
      r.p99Ms.toFixed(3),
      `${r.speedupP50.toFixed(2)}×`,
      `${r.speedupP99.toFixed(2)}×`,
      `${r.speedupMin.toFixed(2)}×`,
      Object.entries(r.agreement)
        .slice(0, 1)
        .map(([k, v]) => `${k} ${v.toFixed(3)}`)
        .join(''),
      r.agreement.minCosine!.toFixed(4),
      r.quantizedInSubgraphs ?? '',
    ]),
  ),
);
const path = writeBenchFile('exporters', THREADS, { quick, heldOutItems: heldOut, rows });
console.log(`wrote ${path}`);
