import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ProtoDecodeError, decodeMessage, encodeMessage, encodedSize, type MessageDef } from './protobuf.js';

const Msg: MessageDef = {
  name: 'Msg',
  fields: [
    { no: 1, name: 'i32', kind: 'int32' },
    { no: 2, name: 'i64', kind: 'int64' },
    { no: 3, name: 'f', kind: 'float' },
    { no: 4, name: 'd', kind: 'double' },
    { no: 5, name: 's', kind: 'string' },
    { no: 6, name: 'b', kind: 'bytes' },
    { no: 7, name: 'ints', kind: 'int64', repeated: true },
    { no: 8, name: 'floats', kind: 'float', repeated: true },
    { no: 9, name: 'sub', kind: 'message', msg: () => Msg },
    { no: 20, name: 'u64', kind: 'uint64' },
  ],
};

test('scalars, packed repeated fields, nested messages and strings round-trip', () => {
  const v = {
    i32: -7,
    i64: -(2 ** 40),
    f: 1.5,
    d: Math.PI,
    s: 'héllo ✓',
    b: new Uint8Array([0, 255, 3]),
    ints: [0, 1, 127, 128, 2 ** 31, -1, 2 ** 52],
    floats: [0.25, -8],
    sub: { i32: 2 ** 31 - 1, ints: [], floats: [] },
    u64: 2 ** 53,
  };
  const bytes = encodeMessage(v, Msg);
  assert.equal(bytes.length, encodedSize(v, Msg));
  const back = decodeMessage(bytes, Msg);
  assert.deepEqual({ ...back, b: [...(back.b as Uint8Array)] }, { ...v, b: [0, 255, 3] });
});

test('known wire bytes: varints, a negative int32 takes ten bytes, packed floats', () => {
  assert.deepEqual([...encodeMessage({ i32: 150 }, Msg)], [0x08, 0x96, 0x01]);
  assert.deepEqual([...encodeMessage({ i32: -1 }, Msg)], [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.deepEqual([...encodeMessage({ floats: [1] }, Msg)], [0x42, 0x04, 0x00, 0x00, 0x80, 0x3f]);
  // INT64_MAX, as ONNX uses for Slice ends, is clamped on the way out and read back as 2^63
  const big = decodeMessage(encodeMessage({ i64: 2 ** 63 }, Msg), Msg);
  assert.equal(big.i64, 2 ** 63);
});

test('unpacked repeated scalars and unknown fields are read; malformed input is a ProtoDecodeError', () => {
  // field 7 twice, unpacked (wire type 0); then unknown field 15 (varint), 16 (fixed64), 17 (length-delimited), 18 (fixed32)
  const bytes = new Uint8Array([0x38, 0x05, 0x38, 0x06, 0x78, 0x01, 0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x8a, 0x01, 0x02, 0xaa, 0xbb, 0x95, 0x01, 1, 2, 3, 4]);
  assert.deepEqual(decodeMessage(bytes, Msg).ints, [5, 6]);
  for (const bad of [
    [0x08], // varint cut short
    [0x2a, 0x05, 0x61], // string longer than the data
    [0x1d, 0x00, 0x00], // fixed32 cut short
    [0x0b], // wire type 3 (groups) is not supported
    [0x00, 0x01], // field number 0
    [0x2d, 0, 0, 0, 0], // field 5 (string) sent as fixed32
    [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // varint over ten bytes
  ])
    assert.throws(() => decodeMessage(new Uint8Array(bad), Msg), ProtoDecodeError, JSON.stringify(bad));
  // nesting deeper than the limit
  let deep: Record<string, unknown> = { i32: 1 };
  for (let k = 0; k < 10; k++) deep = { sub: deep };
  assert.throws(() => decodeMessage(encodeMessage(deep, Msg), Msg, { maxDepth: 5 }), /nested deeper than 5/);
});
