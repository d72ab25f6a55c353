// Writes a model whose weights total more than 2 GiB (protobuf's limit), reads it back and has ONNX
// Runtime load and run it. Too slow and too heavy for `npm test`; run it by hand:
//   node --import tsx bench/large-model.ts [--gib 2.4] [--keep]
// Writes bench/results/large-model.json.

import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/onnx/dtype.js';
import { readModel } from '../src/onnx/read-model.js';
import { Tensor } from '../src/onnx/tensor.js';
import { writeFileAtomic, writeModel } from '../src/onnx/write-model.js';
import { ortVersion } from '../src/runtime/session.js';

const args = process.argv.slice(2);
const gib = Number(args[args.indexOf('--gib') + 1] || 2.4) || 2.4;
const keep = args.includes('--keep');
const PER = 600 * 2 ** 20; // bytes per tensor
const count = Math.ceil((gib * 2 ** 30) / PER);

const t0 = performance.now();
const b = new GraphBuilder('large');
const idx = b.int64s('last', [PER / 4 - 1]);
for (let k = 0; k < count; k++) {
  const data = new Uint8Array(PER);
  // a cheap fill: each float is k + 1, written once and copied in doubling chunks
  new DataView(data.buffer).setFloat32(0, k + 1, true);
  for (let n = 4; n < PER; n *= 2) data.copyWithin(n, 0, Math.min(n, PER - n));
  const w = b.constant(`w${k}`, new Tensor(`w${k}`, DataType.FLOAT, [PER / 4], data));
  b.output(b.op('Gather', [w, idx], {}, { outputs: [`y${k}`] }), DataType.FLOAT, [1]);
}
const model = b.model();
const tBuilt = performance.now();

const dir = mkdtempSync(join(tmpdir(), 'edgefit-large-'));
const path = join(dir, 'large.onnx');
try {
  const written = writeModel(model, path); // no option: the size alone must force external data
  const tWritten = performance.now();
  const back = readModel(path);
  const tRead = performance.now();
  let same = true;
  for (const [k, t] of model.graph.initializers) same &&= Buffer.compare(back.graph.initializers.get(k)!.data, t.data) === 0;
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const out = await session.run({});
  const tOrt = performance.now();
  const values = Array.from({ length: count }, (_, k) => (out[`y${k}`]!.data as Float32Array)[0]);
  const ok = same && values.every((v, k) => v === k + 1) && written.externalDataPath !== undefined;
  await session.release();
  const result = {
    bench: 'large-model',
    ok,
    weightBytes: count * PER,
    onnxFileBytes: statSync(path).size,
    externalBytes: written.externalBytes,
    externalTensors: written.externalTensors,
    readBackIdentical: same,
    ortValues: values,
    seconds: { build: (tBuilt - t0) / 1e3, write: (tWritten - tBuilt) / 1e3, read: (tRead - tWritten) / 1e3, ortLoadAndRun: (tOrt - tRead) / 1e3 },
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, ort: ortVersion(), threads: 1, node: process.version },
  };
  const outDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileAtomic(join(outDir, 'large-model.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
  process.exitCode = ok ? 0 : 1;
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
