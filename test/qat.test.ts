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

test('QAT on MobileNetV3 (every conv int8, depthwise included): exact step 0, closer to fp32 after training, exact export that fuses', async () => {
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
  const path = join(dir, 'qat.opt.onnx');
  await (await createSession(r.model, { optimizedModelPath: path })).release();
  const ops: Record<string, number> = {};
  for (const n of readModel(path).graph.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  const convs = ptq.graph.nodes.filter((n) => n.opType === 'Conv').length;
  assert.equal(ops.QLinearConv, convs, JSON.stringify(ops));
  assert.equal(ops.Conv ?? 0, 0, JSON.stringify(ops));
});
