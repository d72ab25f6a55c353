// .npy tensors (NumPy format 1.0–3.0): the header is parsed once, rows are read on demand so a large
// array is never held in memory at once.

import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { DataError } from './errors.js';

export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'float16';

const DTYPES: Record<string, { dtype: NpyDtype; bytes: number }> = {
  '<f4': { dtype: 'float32', bytes: 4 },
  '<f8': { dtype: 'float64', bytes: 8 },
  '<i8': { dtype: 'int64', bytes: 8 },
  '<i4': { dtype: 'int32', bytes: 4 },
  '|u1': { dtype: 'uint8', bytes: 1 },
  '|i1': { dtype: 'int8', bytes: 1 },
  '<f2': { dtype: 'float16', bytes: 2 },
};

export interface NpyHeader {
  dtype: NpyDtype;
  itemBytes: number;
  shape: number[];
  dataOffset: number;
}

export function parseNpyHeader(buf: Uint8Array, file: string): NpyHeader {
  const magic = String.fromCharCode(...buf.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new DataError(`${file}: not a .npy file (bad magic)`, 'save arrays with numpy.save');
  const major = buf[6]!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + hlen > buf.length) throw new DataError(`${file}: truncated .npy header`);
  const header = new TextDecoder().decode(buf.subarray(start, start + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new DataError(`${file}: cannot parse the .npy header '${header.trim()}'`);
  const dt = DTYPES[descr];
  if (!dt) throw new DataError(`${file}: dtype '${descr}' is not supported`, `supported: ${Object.keys(DTYPES).join(', ')} (little-endian)`);
  if (fortran === 'True') throw new DataError(`${file}: Fortran-ordered arrays are not supported`, 'save with numpy.ascontiguousarray(x)');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  return { dtype: dt.dtype, itemBytes: dt.bytes, shape, dataOffset: start + hlen };
}

/** Random access to the rows (first axis) of a .npy file. */
export class NpyReader {
  readonly header: NpyHeader;
  readonly rows: number;
  readonly rowShape: number[];
  private readonly rowBytes: number;
  private fd: number;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
    const head = Buffer.alloc(Math.min(65536, fstatSync(this.fd).size));
    readSync(this.fd, head, 0, head.length, 0);
    this.header = parseNpyHeader(head, file);
    this.rows = this.header.shape[0] ?? 1;
    this.rowShape = this.header.shape.slice(1);
    this.rowBytes = this.rowShape.reduce((a, b) => a * b, 1) * this.header.itemBytes;
    const need = this.header.dataOffset + this.rows * this.rowBytes;
    if (fstatSync(this.fd).size < need)
      throw new DataError(`${file}: truncated: shape (${this.header.shape.join(', ')}) needs ${need} bytes, the file has ${fstatSync(this.fd).size}`);
  }

  /** Row i as numbers (int64 as Number). */
  row(i: number): number[] {
    const buf = Buffer.alloc(this.rowBytes);
    readSync(this.fd, buf, 0, this.rowBytes, this.header.dataOffset + i * this.rowBytes);
    const n = this.rowBytes / this.header.itemBytes;
    const out = new Array<number>(n);
    for (let k = 0; k < n; k++) {
      const o = k * this.header.itemBytes;
      switch (this.header.dtype) {
        case 'float32':
          out[k] = buf.readFloatLE(o);
          break;
        case 'float64':
          out[k] = buf.readDoubleLE(o);
          break;
        case 'int64':
          out[k] = Number(buf.readBigInt64LE(o));
          break;
        case 'int32':
          out[k] = buf.readInt32LE(o);
          break;
        case 'uint8':
          out[k] = buf[o]!;
          break;
        case 'int8':
          out[k] = buf.readInt8(o);
          break;
        case 'float16':
          out[k] = halfToFloat(buf.readUInt16LE(o));
          break;
      }
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Writes a .npy (format 1.0) file's bytes; for tests and `data make`. */
export function encodeNpy(data: Float32Array | Int32Array | Uint8Array | BigInt64Array | Float64Array, shape: number[]): Uint8Array {
  const descr =
    data instanceof Float32Array
      ? '<f4'
      : data instanceof Int32Array
        ? '<i4'
        : data instanceof BigInt64Array
          ? '<i8'
          : data instanceof Float64Array
            ? '<f8'
            : '|u1';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
