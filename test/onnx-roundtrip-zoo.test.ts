// The models built in code (src/zoo) through the ONNX layer: write → read gives bit-identical ORT
// outputs, verification passes, shape inference agrees with ORT on every intermediate value, and
// inspect settles all their MACs, and an opset upgrade to 21 keeps their outputs.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { inspectModel } from '../src/onnx/inspect-model.js';
import { readModelFromBytes } from '../src/onnx/read-model.js';
import { inferShapes } from '../src/onnx/shape-inference.js';
import { verifyModel } from '../src/onnx/verify.js';
import { serializeModel } from '../src/onnx/write-model.js';
import { bitIdentical, maxAbsDiff, runOnce } from '../src/onnx/test-models.js';
import { upgradeOpset } from '../src/onnx/opset-upgrade.js';
import { randomFeeds, zooModels } from '../src/zoo/index.js';

for (const entry of zooModels()) {
  test(`zoo ${entry.name}: round trip, verify, shapes, MACs`, async () => {
    const model = entry.build();
    verifyModel(model);
    const feeds = Object.fromEntries(Object.entries(randomFeeds(entry.inputShapes, 9)).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]));
    const bytes = serializeModel(model);
    const back = readModelFromBytes(bytes);
    assert.equal(Buffer.compare(serializeModel(back), bytes), 0);
    const [a, b] = [await runOnce(bytes, feeds), await runOnce(back, feeds)];
    for (const k of Object.keys(a)) assert.ok(bitIdentical(a[k]!, b[k]!), k);

    const inf = inferShapes(back, { inputShapes: entry.inputShapes });
    const probe = back.clone();
    const g = probe.graph;
    for (const n of g.nodes) for (const o of n.outputs) if (o && n.opType !== 'Constant' && !g.outputs.some((x) => x.name === o)) g.outputs.push({ name: o });
    const all = await runOnce(probe, feeds, { optimize: false });
    for (const [name, t] of Object.entries(all)) assert.deepEqual(inf.types.get(name)?.shape, [...t.dims], `${entry.name}: shape of ${name}`);

    const r = inspectModel(back, { shapes: entry.inputShapes });
    assert.ok(r.macs.complete && r.macs.total > 0, JSON.stringify(r.macs));

    if ((back.opset('') ?? 99) < 21) {
      const up = back.clone();
      upgradeOpset(up, 21);
      verifyModel(up);
      const c = await runOnce(up, feeds);
      for (const k of Object.keys(a)) assert.ok(maxAbsDiff(a[k]!, c[k]!) <= 1e-5, `${k} after upgrade to 21`);
    }
  });
}
