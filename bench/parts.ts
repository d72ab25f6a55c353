// The `parts` defect task (issue 12): a CNN trained from scratch on generated parts images through the
// CLI, its held-out accuracy and recall per class, then QAT of the same model against PTQ (scope all);
// then the zoo's MobileNetV3 (64×64, 5 classes) trained on parts with `edgefit finetune --unfreeze all`
// and QAT of it against PTQ with every conv in int8, depthwise ones too (where PTQ loses quality).
// Each stage runs the real `edgefit` command in a child process, as a user would.
//   npm run bench -- parts                              every stage (about 25 minutes here)
//   PARTS_ONLY=qat,mnv3 node --import tsx bench/parts.ts  some stages (qat needs the model cnn wrote)
// Stages run separately merge into bench/results/parts.json.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { readBenchResults, writeBenchFile } from '../src/bench/results.js';
import { serializeModel } from '../src/onnx/write-model.js';
import { mobilenetV3 } from '../src/zoo/mobilenet-v3.js';

const THREADS = 1;
const DIR = 'tmp/parts-bench';
const CNN = join(DIR, 'cnn.onnx');
/** Items generated (before the 80/10/10 split), epochs and the architecture of the cnn stage. */
const ITEMS = Number(process.env.PARTS_ITEMS ?? 24_000);
const EPOCHS = Number(process.env.PARTS_EPOCHS ?? 14);
const ARCH = 'cnn:3x64x64-c24-p-c48-p-c96-p-c96-g-f96-5';
const only = (process.env.PARTS_ONLY ?? 'cnn,qat,mnv3').split(',');

function edgefit(args: string[]): Record<string, unknown> {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/edgefit-dev.mjs', ...args, '--json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`edgefit ${args.join(' ')} failed (${r.signal ?? `exit ${r.status}`}):\n${r.stderr}`);
  return { command: `edgefit ${args.join(' ')}`, wallSeconds: (performance.now() - t0) / 1000, ...(JSON.parse(r.stdout) as Record<string, unknown>) };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

console.log(machineLine(machineInfo(THREADS)));
mkdirSync(DIR, { recursive: true });
const got: Record<string, unknown> = {};
if (only.includes('cnn')) {
  const args = ['train', '--arch', ARCH, '--task', 'parts', '--limit', String(ITEMS), '--epochs', String(EPOCHS), '--cosine', '--lr', '0.003', '-o', CNN];
  const r = edgefit(args) as { test: { n: number; accuracy: number; macroF1: number; recall: Record<string, number> } };
  got.cnn = strip(r);
  console.log(`${ARCH} on parts (${r.test.n} held-out items): accuracy ${pct(r.test.accuracy)}, macro-F1 ${pct(r.test.macroF1)}`);
  console.log(
    `recall: ${Object.entries(r.test.recall)
      .map(([c, v]) => `${c} ${pct(v)}`)
      .join(', ')}`,
  );
}
/** `edgefit qat` of a model on parts (scope all), printed: held-out quality of fp32, PTQ and QAT, and QAT's speed against fp32. */
function qatOf(model: string, out: string, extra: string[]): Record<string, unknown> {
  const r = edgefit(['qat', model, '--task', 'parts', '--scope', 'all', '--eval-limit', '1000', ...extra, '-o', out]) as {
    heldOut: Record<'fp32' | 'ptq' | 'qat', { value: number; n: number; metric: string }>;
    latencyMs: Record<'fp32' | 'qat', { p50: number; p99: number }>;
  };
  const h = r.heldOut;
  const l = r.latencyMs;
  console.log(`${model}: held-out ${h.fp32.metric} (${h.fp32.n}): fp32 ${pct(h.fp32.value)}, PTQ ${pct(h.ptq.value)}, QAT ${pct(h.qat.value)}`);
  console.log(`  QAT against fp32: p50 ${(l.fp32.p50 / l.qat.p50).toFixed(2)}×, p99 ${(l.fp32.p99 / l.qat.p99).toFixed(2)}×`);
  return strip(r);
}

/** A CLI result without its per-epoch history. */
function strip(r: Record<string, unknown>): Record<string, unknown> {
  const { history: _h, ...rest } = r;
  return rest;
}

if (only.includes('qat')) {
  if (!existsSync(CNN)) throw new Error(`${CNN} is missing: run the cnn stage first (PARTS_ONLY=cnn)`);
  got.qat = qatOf(CNN, join(DIR, 'cnn.qat.onnx'), []);
}
if (only.includes('mnv3')) {
  const init = join(DIR, 'mnv3.init.onnx');
  const trained = join(DIR, 'mnv3.onnx');
  writeFileSync(init, serializeModel(mobilenetV3({ imageSize: 64, classes: 5, seed: 13 })));
  const ft = edgefit([
    'finetune',
    init,
    '--task',
    'parts',
    '--limit',
    String(ITEMS),
    '--unfreeze',
    'all',
    '--unfreeze-epochs',
    '12',
    '--unfreeze-lr',
    '0.003',
    '-o',
    trained,
  ]);
  const q = qatOf(trained, join(DIR, 'mnv3.qat.onnx'), ['--depthwise', '--limit', '4000', '-e', '8']);
  got.mnv3 = { finetune: strip(ft), qat: q };
}
console.log(`wrote ${writeBenchFile('parts', THREADS, { ...readBenchResults('parts'), ...got })}`);
