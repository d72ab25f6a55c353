// Shape and type inference on what the registered passes produce (QDQ, DynamicQuantizeMatMul,
// MatMulNBits, fp16 …) for every zoo model, checked against the shapes and types ONNX Runtime computes
// for every intermediate value.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { dtypeName } from '../src/onnx/dtype.js';
import { inferShapes } from '../src/onnx/shape-inference.js';
import { runOnce } from '../src/onnx/test-models.js';
import { validateParams } from '../src/passes/params.js';
import type { PassContext } from '../src/passes/pass.js';
import { PASSES } from '../src/passes/registry.js';
import { randomFeeds, zooModels } from '../src/zoo/index.js';

for (const entry of zooModels()) {
  test(`shapes after every pass on zoo ${entry.name} agree with ORT`, async (t) => {
    const feeds = Object.fromEntries(Object.entries(randomFeeds(entry.inputShapes, 9)).map(([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]));
    const ctx: PassContext = {
      calibration: async function* () {
        for (let i = 0; i < 2; i++)
          yield Object.fromEntries(Object.entries(randomFeeds(entry.inputShapes, i)).map(([k, v]) => [k, { type: 'float32', data: v.data, dims: v.dims }]));
      },
      seed: 1,
    };
    let checked = 0;
    for (const pass of PASSES) {
      let model;
      try {
        model = (await pass.run(entry.build(), validateParams(pass.name, pass.params, {}), ctx)).model;
      } catch (e) {
        t.diagnostic(`${pass.name} did not run on ${entry.name}: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      const inf = inferShapes(model, { inputShapes: entry.inputShapes });
      const g = model.graph;
      for (const n of g.nodes) for (const o of n.outputs) if (o && n.opType !== 'Constant' && !g.outputs.some((x) => x.name === o)) g.outputs.push({ name: o });
      const all = await runOnce(model, feeds, { optimize: false });
      for (const [name, v] of Object.entries(all)) {
        const got = inf.types.get(name);
        assert.ok(got, `${pass.name}: nothing inferred for ${name}`);
        assert.deepEqual(got.shape, [...v.dims], `${pass.name}: shape of ${name}`);
        assert.equal(dtypeName(got.elemType), v.type, `${pass.name}: type of ${name}`);
        checked++;
      }
    }
    assert.ok(checked > 0);
  });
}
