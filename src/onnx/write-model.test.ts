import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constantsToInitializers } from './constants.js';
import { decodeMessage, type ProtoObject } from './protobuf.js';
import * as S from './onnx-schema.js';
import { readModel } from './read-model.js';
import { EdgefitError } from './errors.js';
import { writeFileAtomic, writeModel } from './write-model.js';
import { PADDLE, bitIdentical, floatFeed, runOnce } from './test-models.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'edgefit-write-'));

test('external data: aligned offsets, small tensors inline, ORT loads it, read-back is bit-identical', async () => {
  const dir = tmp();
  try {
    const model = readModel(PADDLE.cls.path);
    constantsToInitializers(model);
    const p = join(dir, 'cls.onnx');
    const r = writeModel(model, p, { externalData: { threshold: 256 } });
    assert.equal(r.externalDataPath, join(dir, 'cls.onnx.data'));
    assert.ok(r.externalTensors! > 10 && r.externalBytes! > 400_000, JSON.stringify(r));
    assert.ok(statSync(p).size < 100_000, 'weights left the .onnx file');
    assert.equal(statSync(r.externalDataPath!).size, r.externalBytes);
    // look at the file itself: every external tensor at a 4096-aligned offset, in bounds
    const proto = decodeMessage(readFileSync(p), S.Model);
    const inits = (proto.graph as ProtoObject).initializer as ProtoObject[];
    let external = 0;
    for (const t of inits) {
      if (t.data_location !== 1) {
        assert.ok((t.raw_data as Uint8Array).length < 256);
        continue;
      }
      external++;
      const kv = Object.fromEntries((t.external_data as ProtoObject[]).map((e) => [e.key, e.value]));
      assert.equal(kv.location, 'cls.onnx.data');
      assert.equal(Number(kv.offset) % 4096, 0);
      assert.ok(Number(kv.offset) + Number(kv.length) <= r.externalBytes!);
    }
    assert.equal(external, r.externalTensors);
    const back = readModel(p);
    for (const [k, t] of model.graph.initializers) assert.equal(Buffer.compare(back.graph.initializers.get(k)!.data, t.data), 0, k);
    const feeds = { x: floatFeed(PADDLE.cls.shape, 5) };
    const ref = await runOnce(PADDLE.cls.path, feeds);
    const out = await runOnce(p, feeds);
    for (const k of Object.keys(ref)) assert.ok(bitIdentical(ref[k]!, out[k]!), k);
    assert.deepEqual(readdirSync(dir).sort(), ['cls.onnx', 'cls.onnx.data'], 'no temp files left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write leaves neither a partial file nor a temp file', () => {
  const dir = tmp();
  try {
    const model = readModel(PADDLE.cls.path);
    assert.throws(() => writeModel(model, join(dir, 'missing-folder', 'm.onnx')));
    assert.throws(() => writeModel(model, join(dir, 'm.onnx'), { externalData: { location: '../escape.data' } }), /plain file name/);
    assert.deepEqual(readdirSync(dir), []);
    writeFileAtomic(join(dir, 'a.txt'), 'one');
    writeFileAtomic(join(dir, 'a.txt'), 'two');
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'two');
    assert.deepEqual(readdirSync(dir), ['a.txt']);
    assert.ok(!existsSync(join(dir, 'm.onnx')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an output path that cannot be written is a user error that names the problem, and leaves nothing behind', () => {
  const dir = tmp();
  try {
    const model = readModel(PADDLE.cls.path);
    const userError = (re: RegExp) => (e: unknown) => e instanceof EdgefitError && e.code === 'E_OUTPUT' && re.test(e.message) && !!e.hint;
    for (const ext of [false, true]) {
      assert.throws(() => writeModel(model, join(dir, 'missing', 'm.onnx'), { externalData: ext }), userError(/folder .*missing does not exist/));
      mkdirSync(join(dir, 'sub.onnx'), { recursive: true });
      assert.throws(() => writeModel(model, join(dir, 'sub.onnx'), { externalData: ext }), userError(/is a folder/));
      writeFileSync(join(dir, 'file'), 'x');
      assert.throws(() => writeModel(model, join(dir, 'file', 'm.onnx'), { externalData: ext }), userError(/file, not a folder/));
      assert.deepEqual(readdirSync(dir).sort(), ['file', 'sub.onnx']);
      assert.deepEqual(readdirSync(join(dir, 'sub.onnx')), []);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
