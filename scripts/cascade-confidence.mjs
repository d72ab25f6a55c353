#!/usr/bin/env node
// How well the serve cascade's confidences single out a fast model's disagreements with the accurate
// one, and what each calibration rule delivers on items it did not see. Runs both models on n items of a
// task's test split through edgefit's own serving path (dist/: the engine, the task's preprocessing and
// decoder, answers compared as the task compares them), then, over many random splits, calibrates a
// threshold on c items and applies it to the rest: the realised agreement with the accurate model, the
// share of splits below the target, and the share escalated, for each confidence ('least', 'mean') and
// each rule ('conformal': what `edgefit serve` does; 'fit': misses / c ≤ 1 − target, the earlier rule).
//   npm run build && node scripts/cascade-confidence.mjs <task|spec.json> <accurate.onnx> <fast.onnx>
//     [--n 600] [--cal 100,200] [--splits 400] [--target 0.99] [--ignore-whitespace] [--split test|all]
//     [--dump rows.json]   (each item's two confidences and whether the answers agreed)
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Engine } from '../dist/serve/engine.js';
import { cascadeConfidence } from '../dist/serve/decode-result.js';
import { answerPairs, sameAnswer } from '../dist/serve/cascade-calibrate.js';
import { calibrateThreshold } from '../dist/serve/cascade.js';
import { loadSpec } from '../dist/cli/serve.js';
import { mulberry32 } from '../dist/util/rng.js';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args.splice(i, 2)[1];
};
const n = Number(flag('n', 600));
const cals = String(flag('cal', '100,200')).split(',').map(Number);
const splits = Number(flag('splits', 400));
const target = Number(flag('target', 0.99));
const split = flag('split', 'test');
const dump = flag('dump', undefined);
const ws = args.includes('--ignore-whitespace');
const [taskRef, accuratePath, fastPath] = args.filter((a) => a !== '--ignore-whitespace');
if (!taskRef || !accuratePath || !fastPath) throw new Error('usage: cascade-confidence.mjs <task|spec.json> <accurate.onnx> <fast.onnx> [flags]');

const { spec, baseDir } = loadSpec(taskRef);
if (ws) spec.ignoreWhitespace = true;
const engine = await Engine.start({
  ladder: [
    { id: 'accurate', path: accuratePath },
    { id: 'fast', path: fastPath },
  ],
  warmup: 1,
  spec,
  baseDir,
});
let rows;
try {
  // a spec file's data folder resolves against the spec's own folder
  const data = spec.data?.path !== undefined ? { data: resolve(baseDir, spec.data.path) } : {};
  const pairs = await answerPairs(engine, spec, { split, limit: n, seed: 0, ...data });
  rows = pairs.map(({ fast, accurate }) => ({
    least: cascadeConfidence(fast, 'least'),
    mean: cascadeConfidence(fast, 'mean'),
    agree: sameAnswer(fast, accurate, spec),
  }));
} finally {
  await engine.close();
}
if (dump) writeFileSync(dump, JSON.stringify(rows));
const agreeing = rows.filter((r) => r.agree).length;
console.log(`${rows.length} items, the fast model agrees on ${agreeing} (${pct(agreeing / rows.length)}); target ${pct(target)}`);

const rnd = mulberry32(7);
for (const measure of ['least', 'mean'])
  for (const c of cals)
    for (const rule of ['fit', 'conformal']) {
      let agreement = 0;
      let escalated = 0;
      let below = 0;
      for (let s = 0; s < splits; s++) {
        const order = rows.map((r) => [rnd(), r]).sort((a, b) => a[0] - b[0]);
        const samples = order.map(([, r]) => ({ confidence: r[measure], agree: r.agree }));
        const [cal, rest] = [samples.slice(0, c), samples.slice(c)];
        const t = calibrateThreshold(cal, target, rule).threshold;
        const a = rest.filter((r) => r.confidence < t || r.agree).length / rest.length;
        agreement += a;
        escalated += rest.filter((r) => r.confidence < t).length / rest.length;
        if (a < target) below++;
      }
      console.log(
        `${measure.padEnd(5)} calibrated on ${String(c).padStart(3)}, ${rule.padEnd(9)}: agreement ${pct(agreement / splits)} on the rest, ${pct(escalated / splits)} escalated, ${pct(below / splits)} of splits below the target`,
      );
    }
process.exit(0);

function pct(x) {
  return `${(100 * x).toFixed(1)}%`;
}
