import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, GraphBuilder, writeModel } from '../onnx/index.js';
import { ModelFileError } from '../onnx/errors.js';
import * as S from '../onnx/onnx-schema.js';
import { decodeMessage, encodeMessage, type ProtoObject } from '../onnx/protobuf.js';
import { modelSize } from './model-size.js';

function model() {
  const b = new GraphBuilder('m');
  const x = b.input('x', DataType.FLOAT, [1, 64]);
  const w = b.floats(
    'w',
    [64, 64],
    Array.from({ length: 64 * 64 }, (_, i) => (i % 7) / 7),
  );
  b.op('MatMul', [x, w], {}, { outputs: ['y'] });
  b.output('y');
  return b.model();
}

function withDir(f: (dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-size-'));
  try {
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('size counts the .onnx file and its external data', () => {
  withDir((dir) => {
    const inline = join(dir, 'inline.onnx');
    writeModel(model(), inline);
    assert.deepEqual(modelSize(inline), { fileBytes: statSync(inline).size, externalBytes: 0, externalFiles: [], totalBytes: statSync(inline).size });
    const ext = join(dir, 'ext.onnx');
    const w = writeModel(model(), ext, { externalData: true });
    const s = modelSize(ext);
    assert.equal(s.externalFiles.length, 1);
    assert.equal(s.externalBytes, statSync(w.externalDataPath!).size);
    assert.ok(s.externalBytes >= 64 * 64 * 4);
    assert.equal(s.totalBytes, statSync(ext).size + s.externalBytes);
  });
});

test('unsafe or missing external data, and files that are not ONNX, are refused with the file named', () => {
  withDir((dir) => {
    const ext = join(dir, 'ext.onnx');
    writeModel(model(), ext, { externalData: true });
    const proto = decodeMessage(readFileSync(ext), S.Model);
    const relocate = (loc: string) => {
      const p = structuredClone(proto) as ProtoObject;
      const t = ((p.graph as ProtoObject).initializer as ProtoObject[])[0]!;
      for (const e of t.external_data as ProtoObject[]) if (e.key === 'location') e.value = loc;
      const out = join(dir, 'moved.onnx');
      writeFileSync(out, encodeMessage(p, S.Model));
      return out;
    };
    const code = (loc: string) => {
      try {
        modelSize(relocate(loc));
        return 'ok';
      } catch (e) {
        assert.ok(e instanceof ModelFileError && e.message.includes('moved.onnx'));
        return e.code;
      }
    };
    assert.equal(code('/etc/passwd'), 'E_UNSAFE_PATH');
    assert.equal(code('../escape.bin'), 'E_UNSAFE_PATH');
    assert.equal(code('missing.bin'), 'E_NO_EXTERNAL');
    const junk = join(dir, 'junk.onnx');
    writeFileSync(junk, 'not a model at all');
    assert.throws(
      () => modelSize(junk),
      (e: unknown) => e instanceof ModelFileError && e.code === 'E_NOT_ONNX',
    );
    assert.throws(
      () => modelSize(join(dir, 'nope.onnx')),
      (e: unknown) => e instanceof ModelFileError && e.code === 'E_NO_FILE',
    );
  });
});
