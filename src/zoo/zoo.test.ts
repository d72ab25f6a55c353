import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { createSession } from '../runtime/session.js';
import { serializeModel } from '../onnx/write-model.js';
import { readModelFromBytes } from '../onnx/read-model.js';
import { bertEncoder, entryFeeds, mlp, zooModels } from './index.js';

for (const entry of zooModels({ fixedInputs: true })) {
  test(`zoo ${entry.name}: ORT loads it and the output is finite and input-dependent`, async () => {
    const model = entry.build();
    const s = await createSession(model);
    const run = async (seed: number) => {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(entryFeeds(entry, seed)))
        feeds[k] = v.data instanceof BigInt64Array ? new ort.Tensor('int64', v.data, v.dims) : new ort.Tensor('float32', v.data, v.dims);
      const out = await s.run(feeds);
      return out[s.outputNames[0]!]!.data as Float32Array;
    };
    const a = await run(1);
    const b = await run(2);
    assert.ok(a.every(Number.isFinite), 'outputs are finite');
    assert.ok(
      a.some((v, i) => Math.abs(v - b[i]!) > 1e-4),
      'different inputs give different outputs',
    );
    // round trip through the serializer keeps the graph
    assert.equal(readModelFromBytes(serializeModel(model)).graph.nodes.length, model.graph.nodes.length);
  });
}

test('zoo models are deterministic for a seed and differ across seeds', () => {
  const w = (seed: number) =>
    mlp({ sizes: [8, 4], seed })
      .graph.initializers.get('fc0.weight')!
      .toFloat32();
  assert.deepEqual(w(5), w(5));
  assert.notDeepEqual(w(5), w(6));
});

test('bertEncoder has 6 MatMul projections per layer plus attention matmuls', () => {
  const m = bertEncoder({ layers: 3, hidden: 32, heads: 2, seq: 8 });
  const mm = m.graph.nodes.filter((n) => n.opType === 'MatMul');
  assert.equal(mm.filter((n) => m.graph.initializers.has(n.inputs[1]!)).length, 3 * 6 + 1);
  assert.equal(mm.length, 3 * 8 + 1);
  assert.throws(() => bertEncoder({ layers: 1, hidden: 30, heads: 4, seq: 8 }), /multiple/);
});
