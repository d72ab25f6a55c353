import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { Node, attr } from './graph.js';
import { constantsToInitializers, initializersToConstants } from './constants.js';
import { readModel } from './read-model.js';
import { verifyModel } from './verify.js';
import { PADDLE, bitIdentical, floatFeed, runOnce } from './test-models.js';

test('every Constant form becomes an initializer with the same values', () => {
  const b = new GraphBuilder();
  const g = b.graph;
  g.nodes.push(new Node('Constant', [], ['f'], 'c1', '', { value_float: attr.float(1.5) }));
  g.nodes.push(new Node('Constant', [], ['fs'], 'c2', '', { value_floats: attr.floats([1, 2.5]) }));
  g.nodes.push(new Node('Constant', [], ['i'], 'c3', '', { value_int: attr.int(-7) }));
  g.nodes.push(new Node('Constant', [], ['is'], 'c4', '', { value_ints: attr.ints([3, 4, 5]) }));
  g.nodes.push(new Node('Constant', [], ['s'], 'c5', '', { value_string: attr.string('hi') }));
  b.output(b.op('Add', ['f', 'fs']));
  b.output(b.op('Add', ['i', 'is'], {}, { outputs: ['ii'] }), DataType.INT64);
  b.output('s', DataType.STRING);
  const m = b.model();
  const r = constantsToInitializers(m);
  assert.equal(r.converted, 4);
  assert.equal(r.kept, 1); // 's' is a graph output
  const t = (n: string) => g.initializers.get(n)!;
  assert.deepEqual([t('f').dataType, [...t('f').dims], [...t('f').toNumbers()]], [DataType.FLOAT, [], [1.5]]);
  assert.deepEqual([...t('fs').toNumbers()], [1, 2.5]);
  assert.deepEqual([t('i').dataType, [...t('i').toNumbers()]], [DataType.INT64, [-7]]);
  assert.deepEqual([...t('is').dims, ...t('is').toNumbers()], [3, 3, 4, 5]);
  verifyModel(m);
  const back = initializersToConstants(m);
  assert.equal(back.converted, 4);
  assert.equal(g.initializers.size, 0);
  verifyModel(m);
});

test('IR 3 models get the new initializers as inputs too', () => {
  const b = new GraphBuilder();
  b.graph.nodes.push(new Node('Constant', [], ['k'], 'c', '', { value_floats: attr.floats([1]) }));
  b.output(b.op('Neg', ['k']));
  const m = b.model({ irVersion: 3 });
  constantsToInitializers(m);
  assert.deepEqual(
    m.graph.inputs.map((i) => i.name),
    ['k'],
  );
});

test('PaddleOCR rec: Constants → initializers → Constants keeps ORT outputs bit-identical', async () => {
  const feeds = { x: floatFeed(PADDLE.rec.shape, 3) };
  const ref = await runOnce(PADDLE.rec.path, feeds);
  const m = readModel(PADDLE.rec.path);
  const nConst = m.graph.nodes.filter((n) => n.opType === 'Constant').length;
  const r = constantsToInitializers(m);
  assert.equal(r.converted + r.kept, nConst);
  assert.ok(r.converted > 300 && r.bytes > 10_000_000, JSON.stringify(r));
  assert.equal(m.graph.nodes.filter((n) => n.opType === 'Constant').length, r.kept);
  verifyModel(m);
  const out1 = await runOnce(m, feeds);
  for (const k of Object.keys(ref)) assert.ok(bitIdentical(ref[k]!, out1[k]!), k);
  initializersToConstants(m);
  verifyModel(m);
  const out2 = await runOnce(m, feeds);
  for (const k of Object.keys(ref)) assert.ok(bitIdentical(ref[k]!, out2[k]!), k);
});
