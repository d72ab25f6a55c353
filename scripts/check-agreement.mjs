#!/usr/bin/env node
// An independent check of the agreement an optimize run reports: reads summary.json, takes the held-out
// sample indices it lists, runs the source and a candidate with onnxruntime-node directly (no edgefit
// code), and recomputes the first output's metric. Usage:
//   node scripts/check-agreement.mjs <run dir> <data.npy> [candidate id (default: the chosen one)]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

const [dir, npyPath, wanted] = process.argv.slice(2);
if (!dir || !npyPath) throw new Error('usage: check-agreement.mjs <run dir> <data.npy> [candidate id]');
const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
const id = wanted ?? s.chosen ?? s.candidates.find((c) => c.full && c.id !== s.baseline)?.id;
const cand = s.candidates.find((c) => c.id === id);
const m = cand.full ?? cand.screen;
const holdout = s.quality.holdout.slice(0, m.quality.n);

// .npy (float32, C order) without any edgefit code
const buf = readFileSync(npyPath);
const hlen = buf.readUInt16LE(8);
const header = buf.subarray(10, 10 + hlen).toString('latin1');
if (!/'descr': '<f4'/.test(header)) throw new Error('float32 .npy only');
const shape = /'shape': \(([^)]*)\)/
  .exec(header)[1]
  .split(',')
  .map((x) => x.trim())
  .filter(Boolean)
  .map(Number);
const per = shape.slice(1).reduce((a, b) => a * b, 1);
const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + hlen, buf.byteOffset + buf.length));

const opts = { intraOpNumThreads: 1, logSeverityLevel: 3 };
const src = await ort.InferenceSession.create(join(dir, 'candidates', s.baseline, 'model.onnx'), opts);
const got = await ort.InferenceSession.create(join(dir, 'candidates', id, 'model.onnx'), opts);
const input = src.inputNames[0];
const out = src.outputNames[0];
const kind = m.quality.outputs?.[0]?.kind;
let sum = 0;
for (const i of holdout) {
  const x = new ort.Tensor('float32', data.slice(i * per, (i + 1) * per), [1, ...shape.slice(1)]);
  const a = (await got.run({ [input]: x }))[out].data;
  const b = (await src.run({ [input]: x }))[out].data;
  if (kind === 'decision') {
    const t = m.quality.outputs[0].threshold ?? 0.5;
    sum += a[0] > t === b[0] > t ? 1 : 0;
  } else if (kind === 'class-scores') {
    const am = a.indexOf(Math.max(...a));
    const bm = b.indexOf(Math.max(...b));
    sum += am === bm ? 1 : 0;
  } else if (kind === 'map') {
    let inter = 0;
    let union = 0;
    for (let k = 0; k < a.length; k++) {
      inter += a[k] > 0.5 && b[k] > 0.5 ? 1 : 0;
      union += a[k] > 0.5 || b[k] > 0.5 ? 1 : 0;
    }
    sum += union ? inter / union : 1;
  } else {
    let d = 0,
      na = 0,
      nb = 0;
    for (let k = 0; k < a.length; k++) (d += a[k] * b[k]), (na += a[k] ** 2), (nb += b[k] ** 2);
    sum += na && nb ? d / Math.sqrt(na * nb) : na === nb ? 1 : 0;
  }
}
const independent = sum / holdout.length;
const reported = m.quality.primary.value;
console.log(
  JSON.stringify(
    { candidate: cand.config.label, metric: m.quality.primary.name, items: holdout.length, reported, independent, diff: Math.abs(reported - independent) },
    null,
    2,
  ),
);
process.exit(Math.abs(reported - independent) <= 0.01 ? 0 : 1);
