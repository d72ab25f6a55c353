// A constant tensor (initializer or Constant value): element type, dims, and raw little-endian bytes.
// Tensors are treated as immutable: a pass that changes weights makes a new Tensor, so clones of a
// model can share the bytes.

import { DataType, dtypeBits, dtypeName, numbersToRaw, rawByteLength, rawToNumbers } from './dtype.js';

export class Tensor {
  constructor(
    public name: string,
    readonly dataType: number,
    readonly dims: readonly number[],
    /** Raw little-endian element bytes (sub-byte types packed); empty for STRING tensors. */
    readonly data: Uint8Array,
    /** Elements of a STRING tensor. */
    readonly strings?: readonly Uint8Array[],
    public docString?: string,
  ) {}

  get size(): number {
    let n = 1;
    for (const d of this.dims) n *= d;
    return n;
  }

  get byteLength(): number {
    return this.dataType === DataType.STRING ? (this.strings ?? []).reduce((a, s) => a + s.length, 0) : this.data.length;
  }

  /** Element values as float64 (any numeric type). */
  toNumbers(): Float64Array {
    return rawToNumbers(this.dataType, this.data, this.size);
  }

  /** float32 view for FLOAT tensors (a copy if the bytes are unaligned), converted values otherwise. */
  toFloat32(): Float32Array {
    if (this.dataType === DataType.FLOAT) {
      if (this.data.byteOffset % 4 === 0) return new Float32Array(this.data.buffer, this.data.byteOffset, this.size);
      return new Float32Array(this.data.slice().buffer, 0, this.size);
    }
    return Float32Array.from(this.toNumbers());
  }

  /** int64 values as bigint (exact). */
  toBigInt64(): BigInt64Array {
    if (this.dataType !== DataType.INT64) throw new Error(`tensor ${this.name} is ${dtypeName(this.dataType)}, not int64`);
    return new BigInt64Array(this.data.slice().buffer, 0, this.size);
  }

  withName(name: string): Tensor {
    return new Tensor(name, this.dataType, this.dims, this.data, this.strings, this.docString);
  }

  static fromNumbers(name: string, dataType: number, dims: readonly number[], values: ArrayLike<number>): Tensor {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new Error(`tensor ${name}: ${values.length} values for dims [${dims.join(',')}]`);
    return new Tensor(name, dataType, [...dims], numbersToRaw(dataType, values));
  }

  static fromFloat32(name: string, dims: readonly number[], values: Float32Array): Tensor {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new Error(`tensor ${name}: ${values.length} values for dims [${dims.join(',')}]`);
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
    return new Tensor(name, DataType.FLOAT, [...dims], bytes);
  }

  static scalar(name: string, dataType: number, value: number): Tensor {
    return Tensor.fromNumbers(name, dataType, [], [value]);
  }

  static fromInt64(name: string, dims: readonly number[], values: ArrayLike<number>): Tensor {
    return Tensor.fromNumbers(name, DataType.INT64, dims, values);
  }
}

/** Checks that the byte count matches the dims; returns a problem description or undefined. */
export function tensorSizeProblem(t: Tensor): string | undefined {
  if (t.dataType === DataType.STRING) {
    const n = t.strings?.length ?? 0;
    return n === t.size ? undefined : `holds ${n} strings but its dims [${t.dims.join(',')}] need ${t.size}`;
  }
  if (dtypeBits(t.dataType) === 0) return `has unsupported element type ${t.dataType}`;
  const want = rawByteLength(t.dataType, t.size);
  return t.data.length === want ? undefined : `holds ${t.data.length} bytes but its dims [${t.dims.join(',')}] of ${dtypeName(t.dataType)} need ${want}`;
}
