// glibc's malloc tuned (src/runtime/malloc-tuning.ts) against its default, for PaddleOCR rec fp32 and its
// int8 form: each measurement is `edgefit bench`'s (benchIsolated: a fresh child process per model),
// and the two settings alternate round by round, so that both meet the machine's states alike. Reports
// p50 and p99 per setting and model (the medians over the rounds), and the int8 speed-up at each.
//   npm run bench -- malloc        (BENCH_ROUNDS, default 4; BENCH_SECONDS per measurement, default 6)
// Writes bench/results/malloc.json.

import { benchIsolated } from '../src/bench/isolated.js';
import { machineInfo, machineLine } from '../src/bench/machine.js';
import { writeBenchFile } from '../src/bench/results.js';
import { MALLOC_TUNING } from '../src/runtime/malloc-tuning.js';
import { ensureRecInt8, REC_FP32, REC_INT8, REC_INT8_FLAGS } from './lib/rec-int8.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const FP32 = REC_FP32;
const INT8 = REC_INT8;
const INT8_FLAGS = REC_INT8_FLAGS;
ensureRecInt8();

const settings = {
  default: Object.fromEntries(Object.keys(MALLOC_TUNING).map((k) => [k, undefined])),
  tuned: { ...MALLOC_TUNING },
};
type Setting = keyof typeof settings;
const models = { fp32: FP32, int8: INT8 };
type Which = keyof typeof models;
const got: Record<Setting, Record<Which, { p50: number[]; p99: number[]; minorFaults?: number[] }>> = {
  default: { fp32: { p50: [], p99: [] }, int8: { p50: [], p99: [] } },
  tuned: { fp32: { p50: [], p99: [] }, int8: { p50: [], p99: [] } },
};
console.log(machineLine(machineInfo(1)));
for (let k = 0; k < ROUNDS; k++) {
  const order: Setting[] = k % 2 ? ['tuned', 'default'] : ['default', 'tuned'];
  for (const s of order)
    for (const w of ['fp32', 'int8'] as Which[]) {
      const r = await benchIsolated(models[w], { threads: 1, shapes: { x: [1, 3, 48, 320] }, durationMs: SECONDS * 1000, env: { ...settings[s] } });
      if (!r.ok) throw new Error(`${w} (${s}): ${r.error.message}`);
      got[s][w].p50.push(r.latency.p50);
      got[s][w].p99.push(r.latency.p99);
      console.log(`round ${k + 1} ${s.padEnd(7)} ${w}: p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms (malloc ${r.machine.malloc})`);
    }
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const summary = Object.fromEntries(
  (['default', 'tuned'] as Setting[]).map((s) => {
    const m = (w: Which, q: 'p50' | 'p99') => median(got[s][w][q]);
    return [
      s,
      {
        fp32: { p50: m('fp32', 'p50'), p99: m('fp32', 'p99') },
        int8: { p50: m('int8', 'p50'), p99: m('int8', 'p99') },
        speedup: { p50: m('fp32', 'p50') / m('int8', 'p50'), p99: m('fp32', 'p99') / m('int8', 'p99') },
      },
    ];
  }),
);
console.log(JSON.stringify(summary, null, 2));
const file = writeBenchFile('malloc', 1, {
  command: 'npm run bench -- malloc',
  models: { fp32: FP32, int8: `${INT8}: edgefit quantize --mode static ${INT8_FLAGS.join(' ')}` },
  tuning: MALLOC_TUNING,
  rounds: ROUNDS,
  secondsPerMeasurement: SECONDS,
  summary,
  byRound: got,
});
console.log(`wrote ${file}`);
