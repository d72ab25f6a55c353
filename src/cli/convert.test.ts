import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '../onnx/read-model.js';
import { DataType, GraphBuilder, writeModel } from '../onnx/index.js';
import { PADDLE, floatFeed, maxAbsDiff, runOnce } from '../onnx/test-models.js';
import { runCli as run } from './test-cli.js';

test('inspect --json follows the documented schema', async () => {
  const r = await run(['inspect', PADDLE.rec.path, '--json', '--shape', 'x=1,3,48,320']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.schema, 'edgefit.inspect/1');
  for (const k of ['file', 'producer', 'irVersion', 'opsetImports', 'metadata', 'inputs', 'outputs', 'graph', 'ops', 'parameters', 'macs'])
    assert.ok(k in j, k);
  assert.deepEqual(j.opsetImports, [{ domain: 'ai.onnx', version: 9 }]);
  assert.deepEqual(j.inputs[0], { name: 'x', dtype: 'float32', shape: ['p2o.DynamicDimension.0', 3, 48, 'p2o.DynamicDimension.1'] });
  assert.deepEqual(j.macs.inputShapes, { x: [1, 3, 48, 320] });
  assert.ok(j.macs.complete);
  const bad = await run(['inspect', PADDLE.rec.path, '--shape', 'y=1,2']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /'y', which is not an input/);
});

test('convert: opset upgrade with --check, external data, atomic output, JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-convert-'));
  try {
    const out = join(dir, 'cls17.onnx');
    const r = await run(['convert', PADDLE.cls.path, '-o', out, '--opset', '17', '--external-data', '--check', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.schema, 'edgefit.convert/1');
    assert.deepEqual([j.input.opset, j.output.opset, j.opsetUpgrade.from, j.opsetUpgrade.to], [9, 17, 9, 17]);
    assert.equal(j.output.externalData.path, out + '.data');
    assert.ok(j.constantsToInitializers.converted > 200);
    assert.equal(j.checkedWithOrt, true);
    assert.deepEqual(readdirSync(dir).sort(), ['cls17.onnx', 'cls17.onnx.data']);
    assert.equal(readModel(out).opset(''), 17);
    const feeds = { x: floatFeed(PADDLE.cls.shape, 2) };
    const [a, b] = [await runOnce(PADDLE.cls.path, feeds), await runOnce(out, feeds)];
    for (const k of Object.keys(a)) assert.ok(maxAbsDiff(a[k]!, b[k]!) <= 1e-5);
    const none = await run(['convert', PADDLE.cls.path]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs -o/);
    const down = await run(['convert', out, '-o', join(dir, 'x.onnx'), '--opset', '13']);
    assert.equal(down.code, 2);
    assert.match(down.stderr, /newer than the target 13/);
    assert.deepEqual(readdirSync(dir).sort(), ['cls17.onnx', 'cls17.onnx.data']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('convert --check: a model ORT rejects never replaces the output, even when the output is the input', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-convert-'));
  try {
    const b = new GraphBuilder('bad');
    b.output(b.op('Relu', [b.input('x', DataType.FLOAT, [1, 4])]), DataType.FLOAT, [1, 4]);
    const bad = b.model({ opset: 17 });
    bad.graph.nodes[0]!.opType = 'NoSuchOp'; // valid protobuf, but no such op for ORT
    const path = join(dir, 'bad.onnx');
    writeModel(bad, path);
    const before = readFileSync(path);
    for (const extra of [[], ['--external-data']]) {
      const target = extra.length ? join(dir, 'bad2.onnx') : path;
      const r = await run(['convert', path, '-o', target, '--check', ...extra]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /ONNX Runtime rejected .*bad2?\.onnx/);
      assert.doesNotMatch(r.stderr, /\.edgefit-convert-|internal error/);
    }
    assert.deepEqual(readFileSync(path), before, 'the input is intact');
    assert.deepEqual(readdirSync(dir), ['bad.onnx'], 'no output, no staging folder');
    const missing = await run(['convert', PADDLE.cls.path, '-o', join(dir, 'no', 'such', 'out.onnx'), '--check']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /folder .* does not exist/);
    assert.doesNotMatch(missing.stderr, /internal error/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
