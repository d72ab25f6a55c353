import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DataType, GraphBuilder, readModel, serializeModel } from '../onnx/index.js';
import { UsageError } from '../onnx/errors.js';
import { createSession, openSession, SessionError, toOrtOptions } from './session.js';

/** y = x·W + b with x [batch, 4]: ORT's MatMulAddFusion turns MatMul+Add into one Gemm. */
function matmulAdd() {
  const b = new GraphBuilder('mm');
  const x = b.input('x', DataType.FLOAT, ['batch', 4]);
  const w = b.floats(
    'w',
    [4, 3],
    Array.from({ length: 12 }, (_, i) => i / 10),
  );
  const bias = b.floats('b', [3], [1, 2, 3]);
  b.op('Add', [b.op('MatMul', [x, w]), bias], {}, { outputs: ['y'] });
  b.output('y', DataType.FLOAT, ['batch', 3]);
  return b.model({ opset: 17 });
}

function opTypesAfter(opts: Parameters<typeof createSession>[1]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-session-'));
  const out = join(dir, 'optimized.onnx');
  return createSession(matmulAdd(), { ...opts, optimizedModelPath: out })
    .then(() =>
      readModel(out)
        .graph.nodes.map((n) => n.opType)
        .sort(),
    )
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}

test('a session runs an IR model and gives the right numbers', async () => {
  const s = await createSession(matmulAdd());
  const x = new ort.Tensor('float32', Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0]), [2, 4]);
  const y = (await s.run({ x })).y!.data as Float32Array;
  // row 0 = W[0,:] + b, row 1 = W[1,:] + b
  assert.deepEqual(
    [...y].map((v) => +v.toFixed(5)),
    [1, 2.1, 3.2, 1.3, 2.4, 3.5],
  );
});

test('the optimized graph is exported, and the optimization level and disabled optimizers take effect', async () => {
  assert.deepEqual(await opTypesAfter({ graphOptimizationLevel: 'all' }), ['Gemm']);
  assert.deepEqual(await opTypesAfter({ graphOptimizationLevel: 'disabled' }), ['Add', 'MatMul']);
  assert.deepEqual(await opTypesAfter({ graphOptimizationLevel: 'all', disabledOptimizers: ['MatMulAddFusion'] }), ['Add', 'MatMul']);
});

test('threads default to 1 with spinning off; both can be set', () => {
  const d = toOrtOptions({}, 'cpu');
  assert.equal(d.intraOpNumThreads, 1);
  assert.equal(d.interOpNumThreads, 1);
  assert.equal(d.graphOptimizationLevel, 'all');
  const extra = d.extra as { session: { intra_op: { allow_spinning: string } } };
  assert.equal(extra.session.intra_op.allow_spinning, '0');
  const s = toOrtOptions({ threads: 2, spinning: true, disabledOptimizers: ['A', 'B'] }, 'cpu');
  assert.equal(s.intraOpNumThreads, 2);
  const e2 = s.extra as { session: { intra_op: { allow_spinning: string } }; optimization: { disable_specified_optimizers: string } };
  assert.equal(e2.session.intra_op.allow_spinning, '1');
  assert.equal(e2.optimization.disable_specified_optimizers, 'A,B');
});

test('bad thread counts and levels are usage errors', async () => {
  await assert.rejects(createSession(matmulAdd(), { threads: 0 }), UsageError);
  await assert.rejects(createSession(matmulAdd(), { threads: 100_000 }), /threads must be at most/); // ORT would try to start them all
  await assert.rejects(createSession(matmulAdd(), { threads: 1.5 }), UsageError);
  await assert.rejects(createSession(matmulAdd(), { graphOptimizationLevel: 'max' as never }), UsageError);
});

test('when every provider fails, one error lists each and why; none falls back silently', async () => {
  const err = await createSession(matmulAdd(), { providers: ['nosuch', 'cuda'] }).then(
    () => assert.fail('expected the session to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SessionError);
  assert.equal(err.code, 'E_PROVIDERS');
  assert.match(err.message, /\[nosuch\] not available/);
  assert.match(err.message, /\[cuda\] /);
  assert.ok(err.hint);
});

test('a later provider in the list is used, and the earlier failures are reported', async () => {
  const r = await openSession(matmulAdd(), { providers: ['nosuch', 'cpu'] });
  assert.equal(r.provider, 'cpu');
  assert.deepEqual(
    r.failures.map((f) => f.provider),
    ['nosuch'],
  );
});

test('a model ORT rejects is a SessionError that names the file', async () => {
  const b = new GraphBuilder('bad');
  const x = b.input('x', DataType.FLOAT, [2]);
  b.op('NoSuchOp', [x], {}, { outputs: ['y'] });
  b.output('y');
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-session-'));
  try {
    const path = join(dir, 'bad.onnx');
    writeFileSync(path, serializeModel(b.model()));
    await assert.rejects(
      createSession(path, { optimizedModelPath: join(dir, 'opt.onnx') }),
      (e: unknown) => e instanceof SessionError && e.code === 'E_ORT_REJECTED' && e.message.includes(path) && /NoSuchOp/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir), ['bad.onnx'], 'no optimized file, whole or partial, is left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('optimizedModelPath over the model itself, or onto a folder, is refused before ORT writes anything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-session-'));
  try {
    const path = join(dir, 'm.onnx');
    writeFileSync(path, serializeModel(matmulAdd()));
    const before = readFileSync(path);
    await assert.rejects(createSession(path, { optimizedModelPath: path }), (e: unknown) => e instanceof UsageError && /over the model itself/.test(e.message));
    assert.deepEqual(readFileSync(path), before, 'the model is untouched');
    mkdirSync(join(dir, 'sub'));
    await assert.rejects(
      createSession(path, { optimizedModelPath: join(dir, 'sub') }),
      (e: unknown) => e instanceof UsageError && /is a folder/.test(e.message),
    );
    assert.deepEqual(readdirSync(dir).sort(), ['m.onnx', 'sub']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
