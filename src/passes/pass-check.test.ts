import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Node } from '../onnx/graph.js';
import { mlp } from '../zoo/index.js';
import type { Pass } from './pass.js';
import { PassOutputError, checked } from './pass-check.js';
import { PASSES } from './registry.js';

const breaking: Pass = {
  name: 'breaks-things',
  description: 'reads a value nothing defines',
  params: {},
  tolerance: { metric: 'maxAbs', value: 0 },
  async run(model) {
    const out = model.clone();
    out.graph.nodes.push(new Node('Relu', ['no_such_value'], ['dangling'], 'bad'));
    return { model: out, record: { pass: 'breaks-things', params: {}, stats: {}, skipped: [], notes: [] } };
  },
};

test('a pass that breaks a valid model fails with a typed error that blames the pass, not the model', async () => {
  const err = await checked(breaking)
    .run(mlp({ sizes: [4, 2] }), {}, {})
    .catch((e: unknown) => e);
  assert.ok(err instanceof PassOutputError, String(err));
  assert.equal(err.code, 'E_PASS_OUTPUT');
  assert.match(err.message, /no_such_value/);
  assert.match(err.hint ?? '', /your model is fine/);
  assert.doesNotMatch(err.hint ?? '', /re-export/);
});

test('every registered pass is wrapped by the output check', () => {
  for (const p of PASSES) assert.equal(p.run.toString(), checked(breaking).run.toString(), `${p.name} is checked`);
});
