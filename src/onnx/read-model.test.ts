import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GraphBuilder } from './builder.js';
import { DataType, dtypeName } from './dtype.js';
import { ModelFileError } from './errors.js';
import { encodeMessage, type ProtoObject } from './protobuf.js';
import * as S from './onnx-schema.js';
import { EXTERNAL_UNREAD, readModel, readModelFromBytes } from './read-model.js';
import { Tensor } from './tensor.js';
import { serializeModel, writeModel } from './write-model.js';
import { PADDLE, bitIdentical, floatFeed, runOnce } from './test-models.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'edgefit-read-'));

function modelProto(initializers: ProtoObject[], outputs: string[] = []): Uint8Array {
  return encodeMessage(
    {
      ir_version: 10,
      opset_import: [{ domain: '', version: 21 }],
      graph: {
        name: 'g',
        initializer: initializers,
        node: outputs.map((o) => ({ op_type: 'Identity', input: [o], output: [`${o}_out`] })),
        output: outputs.map((o) => ({ name: `${o}_out` })),
      },
    },
    S.Model,
  );
}

for (const [name, m] of Object.entries(PADDLE)) {
  test(`PaddleOCR ${name}: read → write → read gives bit-identical ORT outputs and stable bytes`, async () => {
    const feeds = { x: floatFeed(m.shape, 7) };
    const ref = await runOnce(m.path, feeds);
    const model = readModel(m.path);
    const dir = tmp();
    try {
      const p = join(dir, 'copy.onnx');
      writeModel(model, p);
      const again = readModel(p);
      const bytes = serializeModel(again);
      assert.equal(Buffer.compare(bytes, readFileSync(p)), 0, 'writing a re-read model gives the same bytes');
      const out = await runOnce(p, feeds);
      assert.deepEqual(Object.keys(out), Object.keys(ref));
      for (const k of Object.keys(ref)) assert.ok(bitIdentical(ref[k]!, out[k]!), `output ${k} differs`);
      assert.equal(again.graph.nodes.length, model.graph.nodes.length);
      assert.deepEqual(again.opsetImports, model.opsetImports);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('typed data fields decode to the same values as raw_data, for every dtype', () => {
  const T = DataType;
  const cases: { dt: number; dims: number[]; field: string; data: number[]; expect: number[] }[] = [
    { dt: T.FLOAT, dims: [3], field: 'float_data', data: [1.5, -2, 0.25], expect: [1.5, -2, 0.25] },
    { dt: T.DOUBLE, dims: [2], field: 'double_data', data: [Math.PI, -1e200], expect: [Math.PI, -1e200] },
    { dt: T.FLOAT16, dims: [2], field: 'int32_data', data: [0x3c00, 0xc000], expect: [1, -2] },
    { dt: T.BFLOAT16, dims: [2], field: 'int32_data', data: [0x3f80, 0xc060], expect: [1, -3.5] },
    { dt: T.INT8, dims: [3], field: 'int32_data', data: [-128, 127, -1], expect: [-128, 127, -1] },
    { dt: T.UINT8, dims: [2], field: 'int32_data', data: [255, 3], expect: [255, 3] },
    { dt: T.INT16, dims: [2], field: 'int32_data', data: [-300, 32767], expect: [-300, 32767] },
    { dt: T.UINT16, dims: [1], field: 'int32_data', data: [65535], expect: [65535] },
    { dt: T.INT32, dims: [2], field: 'int32_data', data: [-(2 ** 31), 7], expect: [-(2 ** 31), 7] },
    { dt: T.UINT32, dims: [1], field: 'uint64_data', data: [4e9], expect: [4e9] },
    { dt: T.INT64, dims: [2, 1], field: 'int64_data', data: [-5, 2 ** 40], expect: [-5, 2 ** 40] },
    { dt: T.UINT64, dims: [1], field: 'uint64_data', data: [2 ** 50], expect: [2 ** 50] },
    { dt: T.BOOL, dims: [2], field: 'int32_data', data: [1, 0], expect: [1, 0] },
    { dt: T.INT4, dims: [3], field: 'int32_data', data: [0x78, 0x0f], expect: [-8, 7, -1] },
    { dt: T.UINT4, dims: [3], field: 'int32_data', data: [0xf0, 0x09], expect: [0, 15, 9] },
  ];
  const protos = cases.map((c, k) => ({ name: `t${k}`, data_type: c.dt, dims: c.dims, [c.field]: c.data }));
  const m = readModelFromBytes(modelProto(protos));
  cases.forEach((c, k) => {
    const t = m.graph.initializers.get(`t${k}`)!;
    assert.deepEqual([...t.toNumbers()], c.expect, dtypeName(c.dt));
    // and back through raw_data
    const again = readModelFromBytes(serializeModel(m)).graph.initializers.get(`t${k}`)!;
    assert.deepEqual(again.data, t.data, dtypeName(c.dt));
    assert.deepEqual(again.dims, c.dims);
  });
  // float8 types are bytes in int32_data
  const f8 = readModelFromBytes(modelProto([{ name: 'f8', data_type: T.FLOAT8E4M3FN, dims: [2], int32_data: [0x38, 0xb8] }]));
  assert.deepEqual([...f8.graph.initializers.get('f8')!.data], [0x38, 0xb8]);
});

test('raw data of every dtype (strings too) survives write → read, and ORT reads the values', async () => {
  const b = new GraphBuilder();
  const types = [
    DataType.FLOAT,
    DataType.DOUBLE,
    DataType.FLOAT16,
    DataType.INT8,
    DataType.UINT8,
    DataType.INT16,
    DataType.UINT16,
    DataType.INT32,
    DataType.UINT32,
    DataType.INT64,
    DataType.UINT64,
    DataType.BOOL,
    DataType.BFLOAT16,
    DataType.INT4,
    DataType.UINT4,
  ];
  const vals = [1, 0, 5, 3, 1, 0, 1];
  // onnxruntime-node cannot return bfloat16 or 4-bit tensors to JS: those are checked in the IR only
  for (const t of [DataType.BFLOAT16, DataType.INT4, DataType.UINT4]) b.constant(`c_${dtypeName(t)}`, Tensor.fromNumbers('', t, [7], vals));
  for (const t of types.slice(0, -3))
    b.output(b.op('Identity', [b.constant(`c_${dtypeName(t)}`, Tensor.fromNumbers('', t, [7], vals))], {}, { outputs: [`o_${dtypeName(t)}`] }), t, [7]);
  b.graph.initializers.set('s', new Tensor('s', DataType.STRING, [2], new Uint8Array(0), [new TextEncoder().encode('ab'), new TextEncoder().encode('ü')]));
  b.output(b.op('Identity', ['s'], {}, { outputs: ['o_string'] }), DataType.STRING, [2]);
  const m = b.model({ opset: 21, irVersion: 10 });
  const back = readModelFromBytes(serializeModel(m));
  for (const [k, t] of m.graph.initializers) {
    const u = back.graph.initializers.get(k)!;
    assert.equal(u.dataType, t.dataType);
    assert.deepEqual(u.data, t.data, k);
    assert.deepEqual(u.strings, t.strings, k);
  }
  // ORT: the types onnxruntime-node can hand back to JS
  const out = await runOnce(serializeModel(back), {});
  for (const t of [
    DataType.FLOAT,
    DataType.DOUBLE,
    DataType.INT8,
    DataType.UINT8,
    DataType.INT16,
    DataType.UINT16,
    DataType.INT32,
    DataType.UINT32,
    DataType.INT64,
    DataType.UINT64,
    DataType.BOOL,
  ]) {
    const o = out[`o_${dtypeName(t)}`]!;
    assert.deepEqual(
      Array.from(o.data as ArrayLike<number | bigint | boolean>, Number),
      t === DataType.BOOL ? vals.map((v) => (v ? 1 : 0)) : vals,
      dtypeName(t),
    );
  }
  assert.deepEqual(
    [...(out.o_float16!.data as Uint16Array)],
    vals.map((v) => [0, 0x3c00, 0, 0x4200, 0, 0x4500][v] ?? -1),
  );
  assert.deepEqual(out.o_string!.data, ['ab', 'ü']);
});

test('external data: unsafe locations are refused, missing files named', () => {
  const dir = tmp();
  const outside = tmp();
  try {
    writeFileSync(join(outside, 'w.bin'), new Uint8Array(16));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'ok.bin'), new Uint8Array(16));
    symlinkSync(join(outside, 'w.bin'), join(dir, 'link.bin'));
    const ext = (location: string, offset = 0) => ({
      name: 'w',
      data_type: DataType.FLOAT,
      dims: [4],
      data_location: 1,
      external_data: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: '16' },
      ],
    });
    const tryRead = (location: string, offset = 0) => {
      const p = join(dir, 'm.onnx');
      writeFileSync(p, modelProto([ext(location, offset)]));
      return () => readModel(p);
    };
    const rejects = (location: string, code: string, re: RegExp, offset = 0) =>
      assert.throws(
        tryRead(location, offset),
        (e: unknown) => e instanceof ModelFileError && e.code === code && re.test(e.message) && e.message.includes('m.onnx'),
        location,
      );
    rejects(join(outside, 'w.bin'), 'E_UNSAFE_PATH', /is absolute/);
    rejects('../' + outside.split('/').pop() + '/w.bin', 'E_UNSAFE_PATH', /escapes/);
    rejects('sub/../../x.bin', 'E_UNSAFE_PATH', /escapes/);
    rejects('link.bin', 'E_UNSAFE_PATH', /through a link/);
    rejects('nope.bin', 'E_NO_EXTERNAL', /does not exist/);
    rejects('sub/ok.bin', 'E_TRUNCATED', /truncated|only 16/, 8);
    // an unsafe location anywhere stops the read before any external byte is read, even a safe file's
    const p2 = join(dir, 'two.onnx');
    writeFileSync(p2, modelProto([ext('sub/ok.bin'), { ...ext(join(outside, 'w.bin')), name: 'w2' }]));
    const reads: string[] = [];
    assert.throws(() => readModel(p2, { onExternalData: (t) => reads.push(t) }), /is absolute/);
    assert.deepEqual(reads, []);
    const m = tryRead('sub/ok.bin')();
    assert.equal(m.graph.initializers.get('w')!.data.length, 16);
    // 'check' validates the same things without reading the bytes
    const seen: number[] = [];
    const checked = readModel(join(dir, 'm.onnx'), { externalData: 'check', onExternalData: (_t, _l, n) => seen.push(n) });
    assert.equal(checked.graph.initializers.get('w')!.data, EXTERNAL_UNREAD);
    assert.deepEqual(seen, [16]);
    assert.throws(tryRead('sub/ok.bin', 8), /truncated|only 16/);
    writeFileSync(join(dir, 'm.onnx'), modelProto([ext('sub/ok.bin', 8)]));
    assert.throws(
      () => readModel(join(dir, 'm.onnx'), { externalData: 'check' }),
      (e: unknown) => e instanceof ModelFileError && e.code === 'E_TRUNCATED',
    );
    writeFileSync(join(dir, 'm.onnx'), modelProto([ext('link.bin')]));
    assert.throws(
      () => readModel(join(dir, 'm.onnx'), { externalData: 'check' }),
      (e: unknown) => e instanceof ModelFileError && e.code === 'E_UNSAFE_PATH',
    );
    assert.throws(() => readModelFromBytes(modelProto([ext('sub/ok.bin')])), ModelFileError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('limits: a dim or a tensor over the limit is refused with the flag to raise', () => {
  const bytes = modelProto([{ name: 'big', data_type: DataType.FLOAT, dims: [1000, 1000], raw_data: new Uint8Array(4e6) }]);
  assert.throws(
    () => readModelFromBytes(bytes, { limits: { maxDim: 999 } }),
    (e: unknown) => e instanceof ModelFileError && e.code === 'E_LIMIT' && /dim 1000/.test(e.message) && /--max-dim/.test(e.hint ?? ''),
  );
  assert.throws(
    () => readModelFromBytes(bytes, { limits: { maxTensorBytes: 1e6 } }),
    (e: unknown) => e instanceof ModelFileError && /4000000 bytes/.test(e.message) && /--max-tensor-bytes/.test(e.hint ?? ''),
  );
  assert.equal(readModelFromBytes(bytes).graph.initializers.get('big')!.size, 1e6);
  const short = modelProto([{ name: 'short', data_type: DataType.FLOAT, dims: [10], raw_data: new Uint8Array(12) }]);
  assert.throws(
    () => readModelFromBytes(short),
    (e: unknown) => e instanceof ModelFileError && e.code === 'E_TENSOR' && /12 bytes/.test(e.message),
  );
  const dims = encodeMessage(
    { ir_version: 8, graph: { name: 'g', input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 5e9 }] } } } }] } },
    S.Model,
  );
  assert.throws(() => readModelFromBytes(dims, { limits: { maxDim: 1e9 } }), /declares dim 5000000000/);
});

/**
 * How to run a script that imports read-model.ts as another user. As root the child runs as 'nobody', who may
 * not reach the checkout (a clone under a 0700 folder), so the reader is bundled into `dir`, which is
 * world-readable; returns why not when even that cannot work, so the test skips saying so.
 */
async function readerForNobody(dir: string): Promise<{ url: string; as: { uid: number; gid: number } } | { skip: string }> {
  const as = { uid: 65534, gid: 65534 };
  const node = spawnSync(process.execPath, ['-e', '0'], { ...as, cwd: dir });
  if (node.status !== 0) return { skip: `user nobody cannot run ${process.execPath}` };
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return { skip: 'esbuild (installed with tsx) is missing, so the reader cannot be bundled for user nobody' };
  }
  const out = join(dir, 'read-model.mjs');
  esbuild.buildSync({
    entryPoints: [new URL('./read-model.ts', import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'silent',
  });
  chmodSync(out, 0o644);
  return { url: pathToFileURL(out).href, as };
}

test('a model or external data file without read permission is a user error naming the file, not a bare errno', async (t) => {
  // root reads anything, so as root the reading happens in a child process running as 'nobody'
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-perm-'));
  try {
    chmodSync(dir, 0o755);
    const asRoot = process.getuid?.() === 0;
    const runner = asRoot ? await readerForNobody(dir) : { url: new URL('./read-model.ts', import.meta.url).href, as: undefined };
    if ('skip' in runner) {
      t.skip(runner.skip);
      return;
    }
    const b = new GraphBuilder('perm');
    b.output(b.op('Add', [b.input('x', DataType.FLOAT, [1, 512]), b.floats('w', [1, 512], new Float32Array(512))]));
    const locked = join(dir, 'locked.onnx');
    writeModel(b.model(), locked);
    const ext = join(dir, 'ext.onnx');
    writeModel(b.model(), ext, { externalData: { threshold: 0 } });
    chmodSync(locked, 0);
    chmodSync(ext + '.data', 0);
    const script = `
      const { readModel } = await import(${JSON.stringify(runner.url)});
      const out = [];
      for (const [p, mode] of [[${JSON.stringify(locked)}, 'read'], [${JSON.stringify(ext)}, 'read'], [${JSON.stringify(ext)}, 'check']]) {
        try { readModel(p, { externalData: mode }); out.push('read'); } catch (e) { out.push(e.name + ': ' + e.code + ': ' + e.message); }
      }
      console.log(JSON.stringify(out));`;
    // as nobody: plain node on the bundle, from a folder nobody can enter
    const args = runner.as ? ['--input-type=module', '-e', script] : ['--import', 'tsx', '--input-type=module', '-e', script];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', ...(runner.as ? { ...runner.as, cwd: dir } : {}) });
    assert.equal(r.status, 0, r.stderr);
    const [a, x, c] = JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
    assert.match(a!, /^ModelFileError: E_NO_FILE: .*locked\.onnx: the file cannot be read \(EACCES\)/);
    assert.match(x!, /^ModelFileError: E_NO_FILE: .*ext\.onnx: the external data file 'ext\.onnx\.data' .* cannot be read \(EACCES\)/);
    assert.match(c!, /^ModelFileError: E_NO_FILE: .*cannot be read \(EACCES\)/, 'checked for bench, before ORT meets it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('external data: folders, FIFOs, offsets past the end, wrong lengths and huge files are typed errors naming the file', () => {
  const dir = tmp();
  try {
    const ext = (location: string, entries: Record<string, string> = {}, dims = [16]) => ({
      name: 'w',
      data_type: DataType.FLOAT,
      dims,
      data_location: 1,
      external_data: [{ key: 'location', value: location }, ...Object.entries(entries).map(([key, value]) => ({ key, value }))],
    });
    const p = join(dir, 'm.onnx');
    const read = (t: ProtoObject, opts = {}) => {
      writeFileSync(p, modelProto([t]));
      return readModel(p, opts);
    };
    const rejects = (t: ProtoObject, code: string, re: RegExp) => {
      for (const externalData of ['read', 'check'] as const)
        assert.throws(
          () => read(t, { externalData }),
          (e: unknown) => e instanceof ModelFileError && e.code === code && re.test(e.message) && e.message.startsWith(p),
          `${JSON.stringify(t.external_data)} (${externalData})`,
        );
    };
    mkdirSync(join(dir, 'folder.bin'));
    rejects(ext('folder.bin'), 'E_NOT_REGULAR', /'folder\.bin' .* is a folder, not a regular file/);
    spawnSync('mkfifo', [join(dir, 'pipe.bin')]);
    rejects(ext('pipe.bin'), 'E_NOT_REGULAR', /'pipe\.bin' .* is a FIFO/);
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(64));
    rejects(ext('w.bin', { offset: '1000' }), 'E_TRUNCATED', /starts at offset 1000, past the end of the file \(64 bytes\)/);
    rejects(ext('w.bin', { offset: '8' }), 'E_TRUNCATED', /wants bytes 8\.\.72 of 'w\.bin', which has only 64/);
    rejects(ext('w.bin', { length: '32' }), 'E_TENSOR', /has length 32, but its dims and type need 64 bytes/);
    // a length-less 16-float tensor in a 3 GB (sparse) file reads its 64 bytes, not the file
    const big = join(dir, '..ok.bin');
    writeFileSync(
      big,
      Uint8Array.from({ length: 64 }, (_, k) => k),
    );
    spawnSync('truncate', ['-s', '3G', big]);
    const before = process.memoryUsage().rss;
    const m = read(ext('..ok.bin', { offset: '0' }));
    const w = m.graph.initializers.get('w')!;
    assert.equal(w.data.length, 64);
    assert.deepEqual([...w.data.subarray(0, 4)], [0, 1, 2, 3]);
    assert.ok(process.memoryUsage().rss - before < 256 * 2 ** 20, 'the whole file was not read');
    // only a real climb out is refused, not a name that starts with two dots
    rejects(ext('../..ok.bin'), 'E_UNSAFE_PATH', /escapes the model's folder/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
