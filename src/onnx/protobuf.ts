// Protobuf wire format: a schema-driven decoder and encoder, just enough for onnx.proto.
// int64 fields are JS numbers: ONNX uses values past 2^53 only as sentinels (INT64_MAX in Slice),
// so decoding keeps them approximately and encoding clamps them back to the int64 range.

import { EdgefitError } from './errors.js';

export type FieldKind = 'int32' | 'int64' | 'uint64' | 'float' | 'double' | 'string' | 'bytes' | 'message';

export interface FieldDef {
  readonly no: number;
  readonly name: string;
  readonly kind: FieldKind;
  readonly repeated?: boolean;
  /** Message type of a 'message' field; a thunk, because schemas refer to each other. */
  readonly msg?: () => MessageDef;
}

export interface MessageDef {
  readonly name: string;
  readonly fields: readonly FieldDef[];
}

export type ProtoObject = Record<string, unknown>;

const TWO_32 = 4294967296;
const INT64_MAX = 2 ** 63; // INT64_MAX rounds to 2^63 as a double
const INT64_MIN = -(2 ** 63);

const byNumber = new WeakMap<MessageDef, Map<number, FieldDef>>();
function fieldTable(def: MessageDef): Map<number, FieldDef> {
  let t = byNumber.get(def);
  if (!t) {
    t = new Map(def.fields.map((f) => [f.no, f]));
    byNumber.set(def, t);
  }
  return t;
}

export class ProtoDecodeError extends EdgefitError {
  constructor(message: string) {
    super(message, 'E_PROTO', 'the file is truncated or is not an ONNX model; re-export or re-download it');
  }
}

export interface DecodeLimits {
  /** Nesting depth of messages (subgraphs of If/Loop nest). */
  readonly maxDepth: number;
}

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get eof(): boolean {
    return this.pos >= this.buf.length;
  }
  fail(what: string): never {
    throw new ProtoDecodeError(`malformed protobuf at byte ${this.pos}: ${what}`);
  }
  /** Varint as a double; negative int64 (two's complement in 10 bytes) comes back negative. */
  varint(): number {
    let lo = 0;
    let hi = 0;
    let shift = 0;
    const b = this.buf;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= b.length) this.fail('varint runs past the end of the data');
      const byte = b[this.pos++]!;
      if (shift < 28) lo |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        lo |= (byte & 0x0f) << 28;
        hi |= (byte & 0x7f) >>> 4;
      } else hi |= (byte & 0x7f) << (shift - 32);
      if ((byte & 0x80) === 0) {
        lo >>>= 0;
        if (hi & 0x80000000) return (hi | 0) * TWO_32 + lo;
        return (hi >>> 0) * TWO_32 + lo;
      }
      shift += 7;
    }
    return this.fail('varint longer than 10 bytes');
  }
  fixed32(): number {
    if (this.pos + 4 > this.buf.length) this.fail('fixed32 runs past the end');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  fixed64(): number {
    if (this.pos + 8 > this.buf.length) this.fail('fixed64 runs past the end');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (n < 0 || this.pos + n > this.buf.length) this.fail(`length ${n} runs past the end of the data (${this.buf.length - this.pos} bytes left)`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
        if (this.pos + 8 > this.buf.length) this.fail('fixed64 runs past the end');
        this.pos += 8;
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        if (this.pos + 4 > this.buf.length) this.fail('fixed32 runs past the end');
        this.pos += 4;
        return;
      default:
        this.fail(`unknown wire type ${wire}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function expectedWire(kind: FieldKind): number {
  switch (kind) {
    case 'float':
      return 5;
    case 'double':
      return 1;
    case 'string':
    case 'bytes':
    case 'message':
      return 2;
    default:
      return 0;
  }
}

function readScalar(r: Reader, kind: FieldKind): number {
  if (kind === 'float') return r.fixed32();
  if (kind === 'double') return r.fixed64();
  const v = r.varint();
  return v;
}

/** Decodes `buf` as message `def`. Byte fields are views into `buf` (no copy). */
export function decodeMessage(buf: Uint8Array, def: MessageDef, limits: DecodeLimits = { maxDepth: 64 }, depth = 0): ProtoObject {
  if (depth > limits.maxDepth) throw new ProtoDecodeError(`messages nested deeper than ${limits.maxDepth} (${def.name})`);
  const r = new Reader(buf);
  const table = fieldTable(def);
  const out: ProtoObject = {};
  for (const f of def.fields) if (f.repeated) out[f.name] = [];
  while (!r.eof) {
    const tag = r.varint();
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (no <= 0) r.fail(`invalid field number ${no}`);
    const f = table.get(no);
    if (!f) {
      r.skip(wire);
      continue;
    }
    const want = expectedWire(f.kind);
    if (f.repeated && wire === 2 && want !== 2) {
      // packed repeated scalars
      const sub = new Reader(r.bytes());
      const arr = out[f.name] as number[];
      while (!sub.eof) arr.push(readScalar(sub, f.kind));
      continue;
    }
    if (wire !== want) r.fail(`field ${def.name}.${f.name} has wire type ${wire}, expected ${want}`);
    let v: unknown;
    switch (f.kind) {
      case 'string':
        v = utf8.decode(r.bytes());
        break;
      case 'bytes':
        v = r.bytes();
        break;
      case 'message':
        v = decodeMessage(r.bytes(), f.msg!(), limits, depth + 1);
        break;
      default:
        v = readScalar(r, f.kind);
    }
    if (f.repeated) (out[f.name] as unknown[]).push(v);
    else out[f.name] = v;
  }
  return out;
}

// ---------------------------------------------------------------- encoding
// Two passes: sizes first (memoised per message object), then one write into a single buffer.

function varintSize(v: number): number {
  if (v >= 0 && v < 0x80) return 1;
  if (v >= 0 && v < TWO_32) {
    let n = 1;
    let x = v >>> 0;
    while (x >= 0x80) {
      x >>>= 7;
      n++;
    }
    return n;
  }
  if (v < 0) return 10;
  if (v >= INT64_MAX) return 9; // clamped to 2^63-1 when written (INT64_MAX rounds up to 2^63 as a double)
  let n = 1;
  let x = v;
  while (x >= 128) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

function int64Bits(v: number): bigint {
  if (v >= INT64_MAX) return (1n << 63n) - 1n;
  if (v <= INT64_MIN) return 1n << 63n;
  return BigInt.asUintN(64, BigInt(Math.trunc(v)));
}

function scalarSize(kind: FieldKind, v: number): number {
  if (kind === 'float') return 4;
  if (kind === 'double') return 8;
  return varintSize(v);
}

class Sizer {
  readonly cache = new Map<object, number>();
  message(obj: ProtoObject, def: MessageDef): number {
    const hit = this.cache.get(obj);
    if (hit !== undefined) return hit;
    let n = 0;
    for (const f of def.fields) {
      const v = obj[f.name];
      if (v === undefined || v === null) continue;
      const tagSize = varintSize(f.no * 8);
      if (f.repeated) {
        const arr = v as unknown[];
        if (arr.length === 0) continue;
        if (expectedWire(f.kind) !== 2) {
          const body = this.packed(f.kind, arr as number[]);
          n += tagSize + varintSize(body) + body;
        } else for (const x of arr) n += tagSize + this.one(f, x);
      } else n += tagSize + this.one(f, v);
    }
    this.cache.set(obj, n);
    return n;
  }
  packed(kind: FieldKind, arr: number[]): number {
    if (kind === 'float') return 4 * arr.length;
    if (kind === 'double') return 8 * arr.length;
    let n = 0;
    for (const x of arr) n += varintSize(x);
    return n;
  }
  one(f: FieldDef, v: unknown): number {
    switch (f.kind) {
      case 'string': {
        const b = Buffer.byteLength(v as string, 'utf8');
        return varintSize(b) + b;
      }
      case 'bytes': {
        const b = (v as Uint8Array).length;
        return varintSize(b) + b;
      }
      case 'message': {
        const b = this.message(v as ProtoObject, f.msg!());
        return varintSize(b) + b;
      }
      default:
        return scalarSize(f.kind, v as number);
    }
  }
}

class Writer {
  pos = 0;
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    private readonly sizer: Sizer,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  varint(v: number): void {
    const b = this.buf;
    if (v >= 0 && v < TWO_32) {
      let x = v >>> 0;
      while (x >= 0x80) {
        b[this.pos++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
      b[this.pos++] = x;
      return;
    }
    let big = int64Bits(v);
    while (big >= 0x80n) {
      b[this.pos++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    b[this.pos++] = Number(big);
  }
  scalar(kind: FieldKind, v: number): void {
    if (kind === 'float') {
      this.view.setFloat32(this.pos, v, true);
      this.pos += 4;
    } else if (kind === 'double') {
      this.view.setFloat64(this.pos, v, true);
      this.pos += 8;
    } else this.varint(v);
  }
  message(obj: ProtoObject, def: MessageDef): void {
    for (const f of def.fields) {
      const v = obj[f.name];
      if (v === undefined || v === null) continue;
      const wire = expectedWire(f.kind);
      if (f.repeated) {
        const arr = v as unknown[];
        if (arr.length === 0) continue;
        if (wire !== 2) {
          this.varint(f.no * 8 + 2);
          this.varint(this.sizer.packed(f.kind, arr as number[]));
          for (const x of arr) this.scalar(f.kind, x as number);
        } else for (const x of arr) this.one(f, x);
      } else this.one(f, v);
    }
  }
  one(f: FieldDef, v: unknown): void {
    this.varint(f.no * 8 + expectedWire(f.kind));
    switch (f.kind) {
      case 'string': {
        const s = v as string;
        this.varint(Buffer.byteLength(s, 'utf8'));
        const { written } = utf8e.encodeInto(s, this.buf.subarray(this.pos));
        this.pos += written;
        return;
      }
      case 'bytes': {
        const b = v as Uint8Array;
        this.varint(b.length);
        this.buf.set(b, this.pos);
        this.pos += b.length;
        return;
      }
      case 'message': {
        const o = v as ProtoObject;
        const d = f.msg!();
        this.varint(this.sizer.message(o, d));
        this.message(o, d);
        return;
      }
      default:
        this.scalar(f.kind, v as number);
    }
  }
}

const utf8e = new TextEncoder();

/** Size in bytes that `obj` encodes to. */
export function encodedSize(obj: ProtoObject, def: MessageDef): number {
  return new Sizer().message(obj, def);
}

export function encodeMessage(obj: ProtoObject, def: MessageDef): Uint8Array {
  const sizer = new Sizer();
  const size = sizer.message(obj, def);
  const w = new Writer(new Uint8Array(size), sizer);
  w.message(obj, def);
  if (w.pos !== size) throw new Error(`protobuf encoder wrote ${w.pos} bytes, computed ${size}`);
  return w.buf;
}
