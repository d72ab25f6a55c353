// What every conformance check asks of a model a pass or stage returned, before its own tolerance: the
// graph verifies, ORT runs it on the model's feeds, and each of the input model's outputs is still there,
// keeps its size and is finite.
import * as assert from 'node:assert/strict';
import type { Model } from '../src/onnx/model.js';
import { verifyModel } from '../src/onnx/verify.js';
import { type MixedFeeds, runModel } from '../src/passes/quant/ort-check.js';

/** Each output as [name, the input model's values, the result's values], once the checks above hold. */
export async function keptOutputs(
  out: Model,
  feeds: MixedFeeds,
  ref: Record<string, Float32Array>,
  context: string,
): Promise<[string, Float32Array, Float32Array][]> {
  verifyModel(out, { context });
  const got = await runModel(out, feeds);
  return Object.entries(ref).map(([name, r]) => {
    const g = got[name];
    assert.ok(g, `output ${name} is still there`);
    assert.equal(g.length, r.length, `output ${name} keeps its size`);
    assert.ok(g.every(Number.isFinite), `output ${name} is finite`);
    return [name, r, g];
  });
}
