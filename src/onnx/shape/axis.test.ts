import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { GraphBuilder } from '../builder.js';
import { DataType } from '../dtype.js';
import { inferShapes } from './infer.js';
import { ShapeRuleError } from './axis.js';

type Build = (b: GraphBuilder, x: string) => string;

/** One node over a [2, 3, 4] input; the inferred type of its output (and the notes). */
function infer(build: Build, strict = false, opset = 18) {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2, 3, 4]);
  const y = build(b, x);
  b.output(y);
  const inf = inferShapes(b.model({ opset }), { strict });
  return { type: inf.types.get(y), notes: inf.notes };
}

const HUGE = 2147483648;
// every rule that takes an axis, axes, a perm or a rank from a value, with one bad value each
const BAD: [string, Build, RegExp][] = [
  ['Slice axes', (b, x) => b.op('Slice', [x, b.int64s('s', [0]), b.int64s('e', [1]), b.int64s('a', [HUGE])]), /axes 2147483648 is out of range for rank 3/],
  ['Slice negative', (b, x) => b.op('Slice', [x, b.int64s('s', [0]), b.int64s('e', [1]), b.int64s('a', [-4])]), /axes -4 is out of range/],
  ['Slice repeated', (b, x) => b.op('Slice', [x, b.int64s('s', [0, 0]), b.int64s('e', [1, 1]), b.int64s('a', [1, -2])]), /repeat an axis/],
  ['ReduceSum', (b, x) => b.op('ReduceSum', [x, b.int64s('a', [HUGE])]), /axes 2147483648/],
  ['ReduceMean', (b, x) => b.op('ReduceMean', [x, b.int64s('a', [7])]), /axes 7/],
  ['ArgMax', (b, x) => b.op('ArgMax', [x], { axis: 3 }), /axis 3/],
  ['TopK', (b, x) => b.op('TopK', [x, b.int64s('k', [1])], { axis: -9 }), /axis -9/],
  ['Squeeze', (b, x) => b.op('Squeeze', [x, b.int64s('a', [HUGE])]), /axes 2147483648/],
  ['Unsqueeze', (b, x) => b.op('Unsqueeze', [x, b.int64s('a', [HUGE])]), /axes 2147483648 is out of range for rank 4/],
  ['Concat', (b, x) => b.op('Concat', [x, x], { axis: HUGE }), /axis 2147483648/],
  ['Split', (b, x) => b.op('Split', [x], { axis: 3 }), /axis 3/],
  ['Gather', (b, x) => b.op('Gather', [x, b.int64s('i', [0])], { axis: HUGE }), /axis 2147483648/],
  ['Flatten', (b, x) => b.op('Flatten', [x], { axis: 4 }), /axis 4 is out of range for rank 3 \(allowed -3\.\.3\)/],
  ['Transpose', (b, x) => b.op('Transpose', [x], { perm: [0, 1, HUGE] }), /perm 2147483648/],
  ['Transpose length', (b, x) => b.op('Transpose', [x], { perm: [0, 1] }), /perm \[0, 1\] has 2 entries for rank 3/],
  ['LayerNormalization', (b, x) => b.op('LayerNormalization', [x, b.floats('g', [4], [1, 1, 1, 1])], { axis: 3 }), /axis 3/],
  ['Pad axes', (b, x) => b.op('Pad', [x, b.int64s('p', [1, 1]), '', b.int64s('a', [HUGE])]), /axes 2147483648/],
  ['Resize axes', (b, x) => b.op('Resize', [x, '', '', b.int64s('sz', [5])], { axes: [HUGE] }), /axes 2147483648/],
  ['Reshape rank', (b, x) => b.op('Reshape', [x, b.input('shape', DataType.INT64, [HUGE])]), /rank 2147483648, outside 0\.\.64/],
  ['ConstantOfShape rank', (b) => b.op('ConstantOfShape', [b.input('shape', DataType.INT64, [HUGE])]), /rank 2147483648/],
];

test('a bad axis is a ShapeRuleError naming the node, at once, in every rule that normalises axes', () => {
  for (const [name, build, re] of BAD) {
    const t0 = performance.now();
    assert.throws(
      () => infer(build, true),
      (e: unknown) => e instanceof ShapeRuleError && e.code === 'E_SHAPE_RULE' && re.test(e.message),
      name,
    );
    // not strict: noted, and the walk goes on
    const { notes } = infer(build);
    assert.equal(notes.length, 1, name);
    assert.match(notes[0]!, re, name);
    assert.ok(performance.now() - t0 < 500, `${name} took ${(performance.now() - t0).toFixed(0)} ms`);
  }
});

test('good axes, negative ones included, still infer', () => {
  assert.deepEqual(infer((b, x) => b.op('Slice', [x, b.int64s('s', [1]), b.int64s('e', [3]), b.int64s('a', [-1])])).type?.shape, [2, 3, 2]);
  assert.deepEqual(infer((b, x) => b.op('ReduceSum', [x, b.int64s('a', [-1, 0])], { keepdims: 0 })).type?.shape, [3]);
  assert.deepEqual(infer((b, x) => b.op('Flatten', [x], { axis: 3 })).type?.shape, [24, 1]);
  assert.deepEqual(infer((b, x) => b.op('Unsqueeze', [x, b.int64s('a', [-1])])).type?.shape, [2, 3, 4, 1]);
  assert.deepEqual(infer((b, x) => b.op('Transpose', [x], { perm: [2, 0, 1] })).type?.shape, [4, 2, 3]);
  assert.deepEqual(infer((b, x) => b.op('Gather', [x, b.int64s('i', [0, 1])], { axis: -2 })).type?.shape, [2, 2, 4]);
});
