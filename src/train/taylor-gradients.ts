// Gradients of the task loss with respect to every weight, summed over a few batches: what first-order
// Taylor importance (|Σ w·∂L/∂w| per channel) needs. Labels where the task has them; otherwise the
// model's own predictions (per frame for sequence outputs) stand in, so unlabelled data will do.

import * as ort from 'onnxruntime-node';
import type { Model } from '../onnx/model.js';
import { createSession } from '../runtime/session.js';
import { argmax } from '../util/vector.js';
import { LOSS_INPUTS } from './losses.js';
import { framesOf, teacherLogits, type RecoverData } from './recover.js';
import { buildTrainingGraph } from './training-graph.js';

export async function weightGradients(
  model: Model,
  data: RecoverData,
  opts: { samples?: number; batchSize?: number; threads?: number } = {},
): Promise<Map<string, Float32Array>> {
  const threads = opts.threads ?? 1;
  const s = data.sampleShape.reduce((p, q) => p * q, 1);
  const n = Math.min(opts.samples ?? 256, data.x.length / s);
  const sub = { x: data.x.subarray(0, n * s), sampleShape: data.sampleShape, labels: data.labels?.subarray(0, n) };
  const own = await teacherLogits(model, sub, threads);
  const { model: m, rows } = framesOf(model, own);
  const input = m.graph.realInputs()[0]!.name;
  const tg = await buildTrainingGraph(m, {
    loss: { kind: 'cross-entropy' },
    output: rows,
    sample: { [input]: new ort.Tensor('float32', sub.x.slice(0, 2 * s), [2, ...data.sampleShape]) },
    batchNorm: 'frozen',
    dropout: 'off',
  });
  const session = await createSession(tg.model, { threads });
  const sums = new Map(tg.params.map((p) => [p.name, new Float32Array(p.dims.reduce((a, b) => a * b, 1))]));
  const feedsParams = Object.fromEntries(
    tg.params.map((p) => [p.name, new ort.Tensor('float32', Float32Array.from(m.graph.initializers.get(p.name)!.toFloat32()), p.dims)]),
  );
  const { frames: F, classes: C } = own;
  const bs = opts.batchSize ?? 32;
  for (let first = 0; first < n; first += bs) {
    const k = Math.min(bs, n - first);
    const r = k * F;
    const target = new Float32Array(r * C);
    for (let i = 0; i < r; i++) {
      const label = F === 1 && sub.labels ? sub.labels[first + i]! : argmax(own.logits, (first * F + i) * C, C);
      target[i * C + label] = 1;
    }
    const out = await session.run({
      ...feedsParams,
      [input]: new ort.Tensor('float32', sub.x.subarray(first * s, (first + k) * s), [k, ...data.sampleShape]),
      [LOSS_INPUTS.target]: new ort.Tensor('float32', target, [r, C]),
      [LOSS_INPUTS.weight]: new ort.Tensor('float32', new Float32Array(r).fill(1 / r), [r]),
    });
    for (const p of tg.params) {
      const g = out[p.grad]!.data as Float32Array;
      const acc = sums.get(p.name)!;
      for (let j = 0; j < acc.length; j++) acc[j]! += g[j]!;
    }
  }
  await session.release();
  return sums;
}
