// Quantization-aware training end to end on the zoo's MobileNetV3 (depthwise convs, squeeze-excite,
// HardSwish, BatchNorm folded) with every conv in int8: step 0 of the training graph is the PTQ model
// exactly, training with the fp32 model as teacher brings the int8 model closer to it on held-out inputs,
// the export computes exactly what the trained graph computed, and ORT fuses it into QLinear kernels.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Model } from '../src/onnx/model.js';
import { readModel } from '../src/onnx/read-model.js';
import { Tensor } from '../src/onnx/tensor.js';
import type { Feeds } from '../src/passes/pass.js';
import { quantizeStatic } from '../src/passes/quantize-static.js';
import { createSession } from '../src/runtime/session.js';
import type { ArrayDataset } from '../src/train/dataset.js';
import { exportQat, makeQatModel, quantizationAwareTraining } from '../src/train/qat.js';
import { mobilenetV3, randomFeeds } from '../src/zoo/index.js';
import * as ort from 'onnxruntime-node';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-qat-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SHAPE = [3, 32, 32];
function data(n: number, seed: number): ArrayDataset {
  const x = randomFeeds({ x: [n, ...SHAPE] }, seed).x!.data;
  return { x, labels: new Int32Array(n).fill(-1), sampleShape: SHAPE, classes: [] };
}

async function run(m: Model, d: ArrayDataset, level: 'disabled' | 'all'): Promise<Float32Array> {
  const s = await createSession(m, { graphOptimizationLevel: level });
  const n = d.labels.length;
  const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', d.x, [n, ...SHAPE]) });
  await s.release();
  return Float32Array.from(out[s.outputNames[0]!]!.data as Float32Array);
}

function meanKl(teacher: Float32Array, student: Float32Array, C: number): number {
  let total = 0;
  const rows = teacher.length / C;
  for (let r = 0; r < rows; r++) {
    const sm = (v: Float32Array) => {
      const row = Array.from(v.subarray(r * C, (r + 1) * C));
      const mx = Math.max(...row);
      const e = row.map((z) => Math.exp(z - mx));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((q) => q / s);
    };
    const [p, q] = [sm(teacher), sm(student)];
    for (let c = 0; c < C; c++) total += p[c]! * Math.log(p[c]! / Math.max(q[c]!, 1e-12));
  }
  return total / rows;
}

/** The zoo's MobileNetV3 with confident logits, and its static int8 with every conv in int8. */
async function fp32AndPtq(): Promise<{ fp32: Model; ptq: Model }> {
  const fp32 = mobilenetV3({ imageSize: 32, classes: 10, seed: 3 });
  // confident logits (a random classifier's are nearly uniform, and so is every KL to them)
  const fc = fp32.graph.initializers.get('fc.weight')!;
  fp32.graph.initializers.set(
    'fc.weight',
    Tensor.fromFloat32(
      'fc.weight',
      fc.dims,
      fc.toFloat32().map((v) => v * 30),
    ),
  );
  const calib = (): AsyncIterable<Feeds> =>
    (async function* () {
      for (let i = 0; i < 4; i++) yield randomFeeds({ x: [8, ...SHAPE] }, 100 + i) as unknown as Feeds;
    })();
  const ptq = (await quantizeStatic(fp32, { scope: 'all', quantizeDepthwise: true }, { calibration: calib })).model;
  return { fp32, ptq };
}

async function fusedOps(m: Model, name: string): Promise<Record<string, number>> {
  const path = join(dir, name);
  await (await createSession(m, { optimizedModelPath: path })).release();
  const ops: Record<string, number> = {};
  for (const n of readModel(path).graph.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  return ops;
}

test('QAT on MobileNetV3 (every conv int8, depthwise included): exact step 0, closer to fp32 after training, exact export that fuses', async () => {
  const { fp32, ptq } = await fp32AndPtq();
  const train = data(1024, 1);
  const held = data(64, 2);

  // step 0: the training form (float master weights behind QuantizeLinear) is the PTQ model, value for value
  const qat0 = makeQatModel(ptq);
  assert.deepEqual(await run(qat0.model, held, 'disabled'), await run(ptq, held, 'disabled'));

  const r = await quantizationAwareTraining({ teacher: fp32, qdq: ptq, train, epochs: 2, batchSize: 32, seed: 1, optimizer: { lr: 0.05 } });
  assert.ok(r.trainableParams > 0);
  const [t, p, q] = [await run(fp32, held, 'disabled'), await run(ptq, held, 'all'), await run(r.model, held, 'all')];
  const [klPtq, klQat] = [meanKl(t, p, 10), meanKl(t, q, 10)];
  assert.ok(klQat < 0.97 * klPtq, `held-out KL to fp32: QAT ${klQat.toExponential(3)} vs PTQ ${klPtq.toExponential(3)}`);

  // the export computes what the trained training graph computed
  assert.deepEqual(await run(r.model, held, 'disabled'), await run(r.trained, held, 'disabled'));
  // and is again the exported form of the trained model when made trainable and exported once more
  assert.deepEqual(await run(exportQat(ptq, makeQatModel(r.model), makeQatModel(r.model).model), held, 'disabled'), await run(r.model, held, 'disabled'));

  // ORT fuses it as it fuses the PTQ model: every conv a QLinearConv, none left in float
  const ops = await fusedOps(r.model, 'qat.opt.onnx');
  const convs = ptq.graph.nodes.filter((n) => n.opType === 'Conv').length;
  assert.equal(ops.QLinearConv, convs, JSON.stringify(ops));
  assert.equal(ops.Conv ?? 0, 0, JSON.stringify(ops));
});

test('QAT with learned scales (LSQ): exact step 0, scales move, closer to fp32, an export that matches training and fuses', async () => {
  const { fp32, ptq } = await fp32AndPtq();
  const held = data(64, 2);
  const lsq0 = makeQatModel(ptq, { learnScales: { lr: 0.05 } });
  assert.ok(lsq0.scales.length > 0);
  assert.equal(lsq0.trainable.length, lsq0.weights.length + lsq0.scales.length);
  assert.deepEqual(await run(lsq0.model, held, 'disabled'), await run(ptq, held, 'disabled'));

  const r = await quantizationAwareTraining({ teacher: fp32, qdq: ptq, train: data(1024, 1), epochs: 2, batchSize: 32, seed: 1, learnScales: true });
  // every scale initializer of the export that differs from PTQ's was learned
  const moved = lsq0.scales.filter((l) => {
    const [a, b] = [ptq.graph.initializers.get(l.scale)!.toFloat32(), r.model.graph.initializers.get(l.scale)!.toFloat32()];
    return a.some((v, i) => v !== b[i]);
  });
  assert.ok(moved.length > lsq0.scales.length / 2, `${moved.length} of ${lsq0.scales.length} scales moved`);
  const perTensor = moved.filter((l) => ptq.graph.initializers.get(l.scale)!.dims.length === 0);
  assert.ok(perTensor.length > 0, 'activation (per-tensor) scales moved too');
  for (const l of lsq0.scales) assert.deepEqual(r.model.graph.initializers.get(l.scale)!.dims, ptq.graph.initializers.get(l.scale)!.dims, l.scale);
  const [t, p, q] = [await run(fp32, held, 'disabled'), await run(ptq, held, 'all'), await run(r.model, held, 'all')];
  assert.ok(meanKl(t, q, 10) < 0.97 * meanKl(t, p, 10), `held-out KL to fp32: LSQ ${meanKl(t, q, 10)} vs PTQ ${meanKl(t, p, 10)}`);

  // the export computes what the training graph computed (biases are rounded to the learned s_x·s_w in
  // training too; the scales' exp in float32 may differ from ORT's by an ulp)
  const [exported, trained] = [await run(r.model, held, 'disabled'), await run(r.trained, held, 'disabled')];
  const worst = exported.reduce((m, v, i) => Math.max(m, Math.abs(v - trained[i]!)), 0);
  const range = trained.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(worst <= 1e-5 * range, `export vs training graph: max |Δ| ${worst} of ${range}`);
  // biases are coded at the learned s_x·s_w, so ORT still fuses every conv
  const ops = await fusedOps(r.model, 'lsq.opt.onnx');
  assert.equal(ops.QLinearConv, ptq.graph.nodes.filter((n) => n.opType === 'Conv').length, JSON.stringify(ops));
  assert.equal(ops.Conv ?? 0, 0, JSON.stringify(ops));
  // and the fused model computes what the QDQ export computes
  const fused = await run(r.model, held, 'all');
  const gap = fused.reduce((m, v, i) => Math.max(m, Math.abs(v - exported[i]!)), 0);
  assert.ok(gap <= 0.05 * range, `fused vs unfused export: max |Δ| ${gap} of ${range}`);
});
