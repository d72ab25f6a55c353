import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { DataType, GraphBuilder } from '../onnx/index.js';
import { UsageError } from '../onnx/errors.js';
import { createSession } from './session.js';
import {
  declaredInputs,
  inputRole,
  parseDimFlags,
  parseShapeFlags,
  parseValueFlags,
  planFills,
  resolveInputs,
  synthesizeFeeds,
  type InputSpec,
} from './inputs.js';

/** A BERT-like signature: ids, mask and token types share [batch, sequence]; a float input with an unnamed dim. */
function bertLike() {
  const b = new GraphBuilder('enc');
  const ids = b.input('input_ids', DataType.INT64, ['batch_size', 'sequence']);
  const mask = b.input('attention_mask', DataType.INT64, ['batch_size', 'sequence']);
  const types = b.input('token_type_ids', DataType.INT64, ['batch_size', 'sequence']);
  const f = b.input('features', DataType.FLOAT, ['N', 8]);
  const flag = b.input('flags', DataType.BOOL, [3]);
  const s = b.op('Add', [b.op('Add', [ids, mask]), types]);
  b.op('Identity', [s], {}, { outputs: ['sum'] });
  b.op('Identity', [f], {}, { outputs: ['f'] });
  b.op('Not', [flag], {}, { outputs: ['nf'] });
  b.output('sum', DataType.INT64);
  b.output('f');
  b.output('nf', DataType.BOOL);
  return b.model({ opset: 17 });
}

const spec = (name: string, shape: InputSpec['shape'], type: InputSpec['type'] = 'float32'): InputSpec => ({ name, type, typeName: type ?? '?', shape });

test('batch dims: named like batch/N, else a symbolic first dim; fixed dims stay', () => {
  const r = resolveInputs([spec('a', ['batch', 3]), spec('b', [5, 'N']), spec('c', ['p2o.Dyn.0', 7]), spec('d', [2, 3])], { batch: 4 });
  assert.deepEqual(
    r.map((i) => i.shape),
    [
      [4, 3],
      [5, 4],
      [4, 7],
      [2, 3],
    ],
  );
  assert.deepEqual(
    resolveInputs([spec('a', ['batch', 3])]).map((i) => i.shape),
    [[1, 3]],
    'batch defaults to 1',
  );
});

test('a dim nothing sets is an error that names it and says which --shape to pass', () => {
  assert.throws(
    () => resolveInputs([spec('x', ['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1'])], { batch: 2 }),
    (e: unknown) => e instanceof UsageError && /input 'x'/.test(e.message) && /dim 3/.test(e.message) && e.hint === 'give the full shape: --shape x=2,3,48,<n>',
  );
  assert.throws(
    () => resolveInputs([spec('x', undefined)]),
    (e: unknown) => e instanceof UsageError && /no declared shape/.test(e.message),
  );
  assert.throws(
    () => resolveInputs([spec('x', ['batch', undefined])]),
    (e: unknown) => e instanceof UsageError && /dim 1 \(unknown\)/.test(e.message),
  );
});

test('explicit shapes win, must match the declared rank and fixed dims, and bind dim names for other inputs', () => {
  const inputs = [spec('ids', ['batch', 'seq'], 'int64'), spec('mask', ['batch', 'seq'], 'int64')];
  const r = resolveInputs(inputs, { shapes: { ids: [2, 128] } });
  assert.deepEqual(
    r.map((i) => i.shape),
    [
      [2, 128],
      [2, 128],
    ],
  );
  assert.deepEqual(
    resolveInputs(inputs, { dims: { seq: 16 }, batch: 3 }).map((i) => i.shape),
    [
      [3, 16],
      [3, 16],
    ],
  );
  assert.throws(() => resolveInputs([spec('x', [1, 3, 48, 'w'])], { shapes: { x: [1, 3, 32, 100] } }), /fixes it at 48/);
  assert.throws(() => resolveInputs([spec('x', [1, 'w'])], { shapes: { x: [1, 2, 3] } }), /has 3 dims, but the model declares 2/);
  assert.throws(
    () => resolveInputs([spec('x', [1, 'w'])], { shapes: { y: [1, 2] } }),
    (e: unknown) => e instanceof UsageError && e.hint === 'the inputs are: x',
  );
  // ORT reports an input of unknown rank as []: a --shape of any rank is taken for it
  assert.deepEqual(
    resolveInputs([spec('x', [])], { shapes: { x: [2, 3] } }).map((i) => i.shape),
    [[2, 3]],
  );
  // an explicit --batch must agree with the batch dim of a --shape (else it would be reported, not used)
  assert.throws(
    () => resolveInputs([spec('x', ['N', 3, 48, 'W'])], { batch: 4, shapes: { x: [1, 3, 48, 320] } }),
    /--batch 4 and --shape x=1,3,48,320 disagree: dim 0/,
  );
  assert.deepEqual(
    resolveInputs([spec('x', ['N', 3, 48, 'W'])], { batch: 4, shapes: { x: [4, 3, 48, 320] } }).map((i) => i.shape),
    [[4, 3, 48, 320]],
  );
  assert.deepEqual(
    resolveInputs([spec('x', ['N', 3, 48, 'W'])], { shapes: { x: [8, 3, 48, 320] } }).map((i) => i.shape),
    [[8, 3, 48, 320]],
    'no --batch: the shape says it',
  );
});

test('absurd sizes are refused before anything is allocated', () => {
  assert.throws(
    () => resolveInputs([spec('x', ['batch', 1000, 1000])], { batch: 1000 }),
    (e: unknown) => e instanceof UsageError && /over the limit/.test(e.message),
  );
  assert.throws(() => resolveInputs([spec('x', ['batch', 10])], { batch: 11, maxElements: 100 }), /110 elements, over the limit of 100/);
  assert.equal(resolveInputs([spec('x', ['batch', 10])], { batch: 10, maxElements: 100 }).length, 1);
  assert.throws(() => resolveInputs([spec('x', ['batch'])], { batch: 0 }), /--batch must be a whole number ≥ 1/);
});

test('feeds from an IR model and from its session agree, are seeded, and suit each input', async () => {
  const model = bertLike();
  const session = await createSession(model);
  assert.deepEqual(
    declaredInputs(session).map((i) => [i.name, i.type, i.shape]),
    declaredInputs(model).map((i) => [i.name, i.type, i.shape]),
  );
  const opts = { batch: 2, dims: { sequence: 6 }, seed: 7 };
  const a = synthesizeFeeds(session, opts);
  const b = synthesizeFeeds(model, opts);
  for (const k of Object.keys(a)) assert.deepEqual(a[k]!.data, b[k]!.data, `${k} is deterministic`);
  assert.deepEqual(a.input_ids!.dims, [2, 6]);
  const ids = [...(a.input_ids!.data as BigInt64Array)].map(Number);
  assert.ok(ids.every((v) => v >= 0 && v < 100) && new Set(ids).size > 1, 'ids are varied, non-negative and small');
  assert.ok(
    [...(a.attention_mask!.data as BigInt64Array)].every((v) => v === 1n),
    'masks are all ones',
  );
  assert.ok(
    [...(a.token_type_ids!.data as BigInt64Array)].every((v) => v === 0n),
    'token types are zero',
  );
  const f = a.features!.data as Float32Array;
  assert.deepEqual(a.features!.dims, [2, 8]);
  assert.ok(f.every((v) => v >= -1 && v < 1) && new Set(f).size > 8);
  assert.equal(a.flags!.type, 'bool');
  const other = synthesizeFeeds(model, { ...opts, seed: 8 });
  assert.notDeepEqual(other.features!.data, a.features!.data, 'another seed gives other data');
  const out = await session.run(a);
  assert.deepEqual(out.sum!.dims, [2, 6]);
});

test('--shape values parse from one string or from the comma-split pieces the flag parser gives', () => {
  assert.deepEqual(parseShapeFlags(['x=1,3,48,320']), { x: [1, 3, 48, 320] });
  assert.deepEqual(parseShapeFlags(['x=1', '3', '48', '320', 'mask=1', '20']), { x: [1, 3, 48, 320], mask: [1, 20] });
  assert.deepEqual(parseShapeFlags(['x=1x3x48x320']), { x: [1, 3, 48, 320] });
  assert.throws(() => parseShapeFlags(['1,3']), UsageError);
  assert.throws(() => parseShapeFlags(['x=1,0']), /'0' is not a dim/);
  assert.throws(() => parseShapeFlags(['x=1,a']), UsageError);
  assert.throws(() => parseShapeFlags(['x=']), /gives no dims/);
  assert.throws(() => parseShapeFlags(['x=1', 'x=2']), /twice/);
});

test('--dim values parse as name=value', () => {
  assert.deepEqual(parseDimFlags(['sequence=128', 'p2o.DynamicDimension.1=320']), { sequence: 128, 'p2o.DynamicDimension.1': 320 });
  assert.throws(() => parseDimFlags(['sequence']), UsageError);
  assert.throws(() => parseDimFlags(['=3']), UsageError);
  assert.throws(() => parseDimFlags(['s=0']), UsageError);
});

/** A VAD-like signature: audio, an int64 sample rate that picks a branch, and recurrent state. */
function vadLike() {
  const b = new GraphBuilder('vad');
  const x = b.input('input', DataType.FLOAT, [1, 'samples']);
  const sr = b.input('sr', DataType.INT64, []);
  const st = b.input('state', DataType.FLOAT, [2, 1, 4]);
  b.op('ReduceSum', [x], { keepdims: 0 }, { outputs: ['sx'] });
  b.op('Cast', [sr], { to: DataType.FLOAT }, { outputs: ['srf'] });
  b.op('ReduceSum', [st], { keepdims: 0 }, { outputs: ['ss'] });
  b.op('Add', [b.op('Add', ['sx', 'srf']), 'ss'], {}, { outputs: ['out'] });
  b.output('out');
  return b.model({ opset: 17 });
}

test('--value fills an input with one number broadcast to its shape; state is zero; an int input without a value is refused', () => {
  const m = vadLike();
  const shapes = { input: [1, 8] };
  assert.throws(
    () => synthesizeFeeds(m, { shapes }),
    (e: unknown) => e instanceof UsageError && /'sr' needs a value/.test(e.message) && /--value sr=<number>/.test(e.hint ?? ''),
  );
  const f = synthesizeFeeds(m, { shapes, values: { sr: 16000 } });
  assert.deepEqual([...(f.sr!.data as BigInt64Array)], [16000n]);
  assert.deepEqual(f.state!.dims, [2, 1, 4]);
  assert.ok(
    (f.state!.data as Float32Array).every((v) => v === 0),
    'state defaults to zeros',
  );
  const g = synthesizeFeeds(m, { shapes, values: { sr: 8000, state: 0.5 } });
  assert.ok(
    (g.state!.data as Float32Array).every((v) => v === 0.5),
    'a value broadcasts over the whole shape',
  );
  const plan = planFills(declaredInputs(m), { sr: 8000 });
  assert.match(plan.find((p) => p.name === 'state')!.note!, /recurrent state: filled with zeros/);
  assert.throws(() => planFills(declaredInputs(m), { rate: 1 }), /--value names 'rate', which is not an input/);
});

test('input roles from names; --value parsing', () => {
  assert.deepEqual(
    ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids', 'h0', 'c0', 'state', 'past_key_values.0.key', 'hidden', 'sr', 'x', 'statement'].map(
      inputRole,
    ),
    ['ids', 'mask', 'type', 'position', 'state', 'state', 'state', 'state', 'state', 'data', 'data', 'data'],
  );
  assert.deepEqual(parseValueFlags(['sr=16000', 'state=0', 'x=-0.5']), { sr: 16000, state: 0, x: -0.5 });
  for (const bad of ['sr', '=3', 'sr=', 'sr=abc']) assert.throws(() => parseValueFlags([bad]), UsageError, bad);
  assert.throws(() => parseValueFlags(['sr=1', 'sr=2']), /twice/);
});
