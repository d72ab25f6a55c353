#!/usr/bin/env node
// Where a model's time goes, by op type, under ONNX Runtime's own profiler: kernel time per run of each
// op type (after ORT's graph optimizations, so fused and quantized kernels appear as ORT runs them), its
// share of all kernel time, and the model_run time around it. Profiling adds a little time per node,
// so read the shares, not the absolute figures.
//   node scripts/op-profile.mjs model.onnx [--shape x=1,3,48,320] [--runs 200] [--top 16]

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

function parseArgs(argv) {
  const o = { model: undefined, shapes: {}, runs: 200, top: 16 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--shape') {
      const [name, dims] = (argv[++i] ?? '').split('=');
      if (!name || !dims) throw new Error(`--shape takes name=d1,d2,…, got '${argv[i]}'`);
      o.shapes[name] = dims.split(',').map(Number);
    } else if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--top') o.top = Number(argv[++i]);
    else if (!o.model && !a.startsWith('--')) o.model = a;
    else throw new Error(`unknown argument '${a}'`);
  }
  if (!o.model) throw new Error('usage: node scripts/op-profile.mjs model.onnx [--shape name=d1,d2,…] [--runs n] [--top n]');
  if (!(Number.isInteger(o.runs) && o.runs > 0)) throw new Error(`--runs must be a positive whole number, got ${o.runs}`);
  return o;
}

function feedsFor(session, shapes) {
  const feeds = {};
  for (const m of session.inputMetadata) {
    const dims = shapes[m.name] ?? m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    if (dims.some((d) => !(Number.isInteger(d) && d > 0))) throw new Error(`input '${m.name}' needs --shape ${m.name}=…`);
    const n = dims.reduce((p, q) => p * q, 1);
    if (m.type !== 'float32') throw new Error(`input '${m.name}' is ${m.type}; this script feeds float32 inputs only`);
    feeds[m.name] = new ort.Tensor(
      'float32',
      Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5),
      dims,
    );
  }
  return feeds;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-profile-'));
  try {
    const session = await ort.InferenceSession.create(o.model, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      enableProfiling: true,
      profileFilePrefix: join(dir, 'profile'),
    });
    const feeds = feedsFor(session, o.shapes);
    for (let i = 0; i < o.runs; i++) await session.run(feeds);
    session.endProfiling();
    await session.release();
    const file = readdirSync(dir).find((f) => f.endsWith('.json'));
    const events = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const byOp = new Map();
    let total = 0;
    for (const e of events)
      if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
        const op = e.args?.op_name ?? '?';
        byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
        total += e.dur;
      }
    const runs = events
      .filter((e) => e.cat === 'Session' && e.name === 'model_run')
      .map((e) => e.dur)
      .sort((a, b) => a - b);
    const ms = (us) => (us / 1000).toFixed(3);
    console.log(`${o.model}: ${o.runs} runs, model_run p50 ${ms(runs[runs.length >> 1])} ms, kernels ${ms(total / o.runs)} ms a run`);
    for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, o.top))
      console.log(`  ${op.padEnd(28)} ${ms(us / o.runs).padStart(8)} ms  ${((100 * us) / total).toFixed(1).padStart(5)}%`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`op-profile: ${e.message}`);
  process.exit(1);
});
