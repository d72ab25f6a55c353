import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../onnx/builder.js';
import { UsageError } from '../onnx/errors.js';
import { validateParams } from './params.js';
import { findPass } from './registry.js';

const pass = findPass('clean-fp32')!;

function convThenScale() {
  const b = new GraphBuilder('t');
  const x = b.input('x', 1, [1, 2, 4, 4]);
  const c = b.op('Conv', [x, b.floats('w', [2, 2, 1, 1], [1, 2, 3, 4])], { kernel_shape: [1, 1] });
  b.output(b.op('Mul', [c, b.floats('s', [1], [0.5])]));
  return b.model({ opset: 17 });
}

test('clean-fp32 is registered as a transform, records each rule, and leaves its input alone', async () => {
  assert.ok(pass);
  assert.equal(pass.role, 'transform');
  const m = convThenScale();
  const r = await pass.run(m, validateParams(pass.name, pass.params, {}), {});
  assert.equal(m.graph.nodes.length, 2, 'input unchanged');
  assert.deepEqual(
    r.model.graph.nodes.map((n) => n.opType),
    ['Conv'],
  );
  assert.equal(r.record.stats.nodesRemoved, 1);
  assert.equal(r.record.stats['conv-scale-bias'], 1);
  assert.match(r.record.notes[0]!, /conv-scale-bias 1/);
});

test('clean-fp32 says so when nothing applies, and removes nothing', async () => {
  const b = new GraphBuilder('t');
  b.output(b.op('Relu', [b.input('x', 1, [1, 3])]));
  const r = await pass.run(b.model(), validateParams(pass.name, pass.params, {}), {});
  assert.equal(r.record.stats.nodesRemoved, 0);
  assert.match(r.record.notes[0]!, /nothing to clean/);
});

test('clean-fp32 with a subset of rules runs only those; an unknown rule is a UsageError naming the rules', async () => {
  const r = await pass.run(convThenScale(), validateParams(pass.name, pass.params, { rules: ['hardswish'] }), {});
  assert.equal(r.record.stats.nodesRemoved, 0);
  await assert.rejects(
    pass.run(convThenScale(), validateParams(pass.name, pass.params, { rules: ['fold-everything'] }), {}),
    (e: unknown) => e instanceof UsageError && /unknown rule 'fold-everything'/.test(e.message) && /conv-scale-bias/.test(e.hint ?? ''),
  );
});

test('clean-fp32 leaves HardSwish out, and says why, when the model cannot be upgraded to an opset that has it', async () => {
  const b = new GraphBuilder('t');
  const x = b.input('x', 1, [1, 2]);
  const gate = b.op('Clip', [b.op('Add', [x, b.floats('three', [], [3])])], { min: 0, max: 6 });
  b.output(b.op('Div', [b.op('Mul', [x, gate]), b.floats('six', [], [6])]));
  const r = await pass.run(b.model({ opset: 6 }), validateParams(pass.name, pass.params, {}), {});
  assert.equal(r.model.opset(''), 6);
  assert.equal(r.record.stats.hardswish, 0);
  assert.ok(
    r.record.notes.some((n) => /left out hardswish: they need opset 14, and upgrading from 6 failed/.test(n)),
    r.record.notes.join('; '),
  );
});
