#!/usr/bin/env node
// An independent check of the speed-ups edgefit reports: onnxruntime-node alone (no edgefit code) runs
// each model in one process, 1 intra-op thread, ORT's 'all' optimizations, on the same fixed input, in
// interleaved rounds (each round runs every model `per` times, the order rotated round by round), then
// prints each model's p50 and p99 and their ratios to the first model's.
//   MALLOC_MMAP_THRESHOLD_=1000000000 MALLOC_TRIM_THRESHOLD_=1000000000 \
//   node scripts/check-latency.mjs --shape 1,3,48,320 [--rounds 400] [--per 1] <first.onnx> <model.onnx> …
// (the two variables are the malloc settings edgefit's measurement children and `serve` run with)
import * as ort from 'onnxruntime-node';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const shape = flag('--shape', '1,3,48,320').split(',').map(Number);
const rounds = Number(flag('--rounds', '400'));
const per = Number(flag('--per', '1'));
const models = args;
if (models.length < 2 || shape.some((d) => !Number.isInteger(d) || d < 1) || !(rounds > 0) || !(per > 0))
  throw new Error('usage: check-latency.mjs [--shape d,d,…] [--rounds n] [--per n] <first.onnx> <model.onnx> [model.onnx …]');

const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential' };
const sessions = [];
for (const m of models) sessions.push(await ort.InferenceSession.create(m, opts));
let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return (seed / 2 ** 31) * 2 - 1;
};
const x = new ort.Tensor('float32', Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, rand), shape);
const feeds = sessions.map((s) => ({ [s.inputNames[0]]: x }));
for (let k = 0; k < sessions.length; k++) for (let i = 0; i < 10; i++) await sessions[k].run(feeds[k]);

const samples = sessions.map(() => []);
for (let r = 0; r < rounds; r++)
  for (let j = 0; j < sessions.length; j++) {
    const k = (j + r) % sessions.length;
    for (let i = 0; i < per; i++) {
      const t0 = performance.now();
      await sessions[k].run(feeds[k]);
      samples[k].push(performance.now() - t0);
    }
  }
const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * p;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
};
const [b50, b99] = [q(samples[0], 0.5), q(samples[0], 0.99)];
for (const [k, m] of models.entries()) {
  const [p50, p99] = [q(samples[k], 0.5), q(samples[k], 0.99)];
  console.log(
    `${m}: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms${k ? `; ${(b50 / p50).toFixed(2)}× at p50, ${(b99 / p99).toFixed(2)}× at p99` : ' (first)'}`,
  );
}
