import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { Graph, Node, attr } from './graph.js';
import { readModel } from './read-model.js';
import { VerifyError, modelProblems, verifyModel } from './verify.js';
import { PADDLE } from './test-models.js';

function mlp() {
  const b = new GraphBuilder('mlp');
  const x = b.input('x', DataType.FLOAT, ['batch', 4]);
  const w = b.floats('w', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const h = b.op('MatMul', [x, w]);
  const y = b.op('Relu', [h], {}, { outputs: ['y'] });
  b.output(y, DataType.FLOAT, ['batch', 2]);
  return b.model();
}

test('a well-formed model and the PaddleOCR models pass', () => {
  verifyModel(mlp());
  for (const m of Object.values(PADDLE)) verifyModel(readModel(m.path));
});

test('every problem is listed at once', () => {
  const m = mlp();
  const g = m.graph;
  g.nodes.push(new Node('Add', ['y', 'nowhere'], ['z'], 'add1'));
  g.nodes.push(new Node('Neg', ['y'], ['z'], 'neg1')); // z produced twice
  g.nodes.push(new Node('Foo', ['y'], ['q'], 'foo', 'com.example'));
  g.outputs.push({ name: 'missing' });
  const problems = modelProblems(m);
  assert.ok(
    problems.some((p) => p.includes("reads 'nowhere'")),
    problems.join('\n'),
  );
  assert.ok(problems.some((p) => p.includes("'z' is produced twice")));
  assert.ok(problems.some((p) => p.includes("domain 'com.example'")));
  assert.ok(problems.some((p) => p.includes("graph output 'missing'")));
  assert.throws(
    () => verifyModel(m, { context: 'after pass x' }),
    (e: unknown) => e instanceof VerifyError && e.problems.length === problems.length && e.message.startsWith('after pass x'),
  );
});

test('reading a value before it is produced is a problem', () => {
  const m = mlp();
  m.graph.nodes.reverse();
  assert.match(modelProblems(m).join('\n'), /Relu '.*' reads '.*MatMul/);
});

test('mixed element types are found, declared and computed', () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  const i = b.int64s('i', [1, 2]);
  const c = b.op('Cast', [x], { to: DataType.INT32 });
  b.output(b.op('Add', [x, i]));
  b.output(b.op('Mul', [c, i]));
  const m = b.model();
  const problems = modelProblems(m);
  assert.equal(problems.filter((p) => p.includes('mixes element types')).length, 2, problems.join('\n'));
  // an initializer declared as an input with another type
  m.graph.inputs.push({ name: 'i', type: { kind: 'tensor', elemType: DataType.FLOAT } });
  assert.ok(modelProblems(m).some((p) => p.includes("initializer 'i' holds int64 but is declared float32")));
});

test('subgraphs may read outer values defined before their node, not after', () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  const cond = b.input('c', DataType.BOOL, []);
  const outer = b.op('Neg', [x], {}, { outputs: ['outer'] });
  const thenG = new Graph('then');
  thenG.nodes.push(new Node('Identity', [outer], ['t_out']));
  thenG.outputs.push({ name: 't_out' });
  const elseG = new Graph('else');
  elseG.nodes.push(new Node('Identity', ['late'], ['e_out']));
  elseG.outputs.push({ name: 'e_out' });
  b.graph.nodes.push(new Node('If', [cond], ['r'], 'if', '', { then_branch: attr.graph(thenG), else_branch: attr.graph(elseG) }));
  b.op('Abs', [x], {}, { outputs: ['late'] });
  b.output('r');
  const problems = modelProblems(b.model());
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0]!, /else_branch.*reads 'late'/);
});
