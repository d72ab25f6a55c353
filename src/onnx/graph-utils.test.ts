import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { Graph, Node, attr } from './graph.js';
import { extractSubgraph, nodeReads, removeDeadNodes, topoSort } from './graph-utils.js';
import { readModel } from './read-model.js';
import { PADDLE, floatFeed, maxAbsDiff, runOnce } from './test-models.js';
import { modelProblems } from './verify.js';

function chain() {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  const a = b.op('Neg', [x], {}, { outputs: ['a'] });
  const c = b.op('Abs', [a], {}, { outputs: ['c'] });
  const d = b.op('Relu', [x], {}, { outputs: ['d'] });
  b.output(b.op('Add', [c, d], {}, { outputs: ['y'] }));
  return b;
}

test('topoSort leaves a sorted graph alone and sorts a shuffled one', () => {
  const b = chain();
  const before = b.graph.nodes.map((n) => n.opType);
  topoSort(b.graph);
  assert.deepEqual(
    b.graph.nodes.map((n) => n.opType),
    before,
  );
  b.graph.nodes.reverse();
  assert.ok(modelProblems(b.model()).length > 0);
  topoSort(b.graph);
  assert.deepEqual(modelProblems(b.model()), []);
  const pos = (o: string) => b.graph.nodes.findIndex((n) => n.outputs.includes(o));
  assert.ok(pos('a') < pos('c') && pos('c') < pos('y') && pos('d') < pos('y'));
});

test('topoSort orders a node after the producers its subgraph reads, and reports cycles', () => {
  const g = new Graph();
  g.inputs.push({ name: 'cond' });
  const body = new Graph('then');
  body.nodes.push(new Node('Identity', ['v'], ['o']));
  body.outputs.push({ name: 'o' });
  g.nodes.push(new Node('If', ['cond'], ['r'], 'if', '', { then_branch: attr.graph(body), else_branch: attr.graph(body.clone()) }));
  g.nodes.push(new Node('Neg', ['cond'], ['v'], 'neg'));
  g.outputs.push({ name: 'r' });
  assert.deepEqual(nodeReads(g.nodes[0]!).sort(), ['cond', 'v', 'v']);
  topoSort(g);
  assert.deepEqual(
    g.nodes.map((n) => n.opType),
    ['Neg', 'If'],
  );
  g.nodes.push(new Node('Abs', ['w2'], ['w1'], 'abs1'), new Node('Abs', ['w1'], ['w2'], 'abs2'));
  assert.throws(() => topoSort(g), /cycle through Abs 'abs1', Abs 'abs2'/);
});

test('removeDeadNodes drops unread nodes and initializers, keeps subgraph outer reads', () => {
  const b = chain();
  b.op('Sigmoid', [b.op('Exp', ['a'])]); // dead chain
  const w = b.floats('unused', [2], [1, 2]);
  void w;
  const used = b.floats('used_in_body', [2], [3, 4]);
  const body = new Graph('then');
  body.nodes.push(new Node('Identity', [used], ['o']), new Node('Neg', [used], ['dead_inner']));
  body.outputs.push({ name: 'o' });
  const cond = b.input('cond', DataType.BOOL, []);
  b.graph.nodes.push(new Node('If', [cond], ['r'], 'if', '', { then_branch: attr.graph(body), else_branch: attr.graph(body.clone()) }));
  b.output('r');
  const r = removeDeadNodes(b.graph);
  assert.deepEqual(r, { nodes: 4, initializers: 1 });
  assert.ok(b.graph.initializers.has('used_in_body') && !b.graph.initializers.has('unused'));
  assert.deepEqual(
    b.graph.nodes.map((n) => n.opType),
    ['Neg', 'Abs', 'Relu', 'Add', 'If'],
  );
  assert.deepEqual(modelProblems(b.model()), []);
  assert.deepEqual(
    b.graph.inputs.map((i) => i.name),
    ['x', 'cond'],
  );
});

test('extractSubgraph: the tail of PaddleOCR cls, fed the value ORT computed at the cut, gives the same output', async () => {
  const model = readModel(PADDLE.cls.path);
  const convs = model.graph.nodes.filter((n) => n.opType === 'Conv');
  // after the last pool nothing reads an earlier value, so the tail needs only the cut
  const cut = model.graph.nodes.filter((n) => n.opType === 'GlobalAveragePool').pop()!.outputs[0]!;
  const out = model.graph.outputs[0]!.name;
  const tail = extractSubgraph(model, [cut], [out]);
  assert.deepEqual(modelProblems(tail), []);
  assert.deepEqual(
    tail.graph.inputs.map((i) => i.name),
    [cut],
  );
  assert.ok(tail.graph.nodes.length < 20 && tail.graph.nodes.some((n) => n.opType === 'MatMul'));
  // a cut inside a residual block: the tail needs the original input too, and keeps it
  const inner = extractSubgraph(model, [convs[20]!.outputs[0]!], [out]);
  assert.deepEqual(inner.graph.inputs.map((i) => i.name).sort(), [convs[20]!.outputs[0]!, 'x'].sort());
  const head = extractSubgraph(model, ['x'], [cut]);
  assert.deepEqual(modelProblems(head), []);
  assert.equal(head.graph.nodes.length + tail.graph.nodes.length, model.graph.nodes.length);
  const feeds = { x: floatFeed(PADDLE.cls.shape, 8) };
  const mid = (await runOnce(head, feeds))[cut]!;
  const full = (await runOnce(model, feeds))[out]!;
  const end = (await runOnce(tail, { [cut]: mid }))[out]!;
  assert.ok(maxAbsDiff(full, end) <= 1e-5);
  assert.equal(model.graph.nodes.filter((n) => n.opType === 'Conv').length, convs.length, 'source model unchanged');
  assert.throws(() => extractSubgraph(model, [cut], ['no_such_value']), /cannot extract 'no_such_value'/);
});
