// Conversions between the IR's Tensor (ONNX element type + raw little-endian bytes) and
// onnxruntime-node's ort.Tensor (a type name + a typed array), and typed-array allocation per type.

import * as ort from 'onnxruntime-node';
import { DataType, dtypeName } from '../onnx/dtype.js';
import { Tensor } from '../onnx/tensor.js';

export type OrtType = ort.Tensor.Type;

const ORT_NAMES: Partial<Record<number, OrtType>> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.FLOAT16]: 'float16',
  [DataType.INT8]: 'int8',
  [DataType.UINT8]: 'uint8',
  [DataType.INT16]: 'int16',
  [DataType.UINT16]: 'uint16',
  [DataType.INT32]: 'int32',
  [DataType.UINT32]: 'uint32',
  [DataType.INT64]: 'int64',
  [DataType.UINT64]: 'uint64',
  [DataType.BOOL]: 'bool',
  [DataType.STRING]: 'string',
  [DataType.INT4]: 'int4',
  [DataType.UINT4]: 'uint4',
};

/** The onnxruntime-node type name of an ONNX element type, or undefined where ORT's JS API has none. */
export function ortTypeOf(dataType: number): OrtType | undefined {
  return ORT_NAMES[dataType];
}

/** The ONNX element type of an onnxruntime-node type name. */
export function dataTypeOfOrt(type: string): number | undefined {
  for (const [k, v] of Object.entries(ORT_NAMES)) if (v === type) return Number(k);
  return undefined;
}

/** The typed array ORT expects for a type (float16 as raw bits in a Uint16Array, bool as Uint8Array). */
export function allocate(type: OrtType, count: number): ort.Tensor.DataType {
  switch (type) {
    case 'float32':
      return new Float32Array(count);
    case 'float64':
      return new Float64Array(count);
    case 'float16':
    case 'uint16':
      return new Uint16Array(count);
    case 'int8':
      return new Int8Array(count);
    case 'uint8':
    case 'bool':
      return new Uint8Array(count);
    case 'int16':
      return new Int16Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'uint32':
      return new Uint32Array(count);
    case 'int64':
      return new BigInt64Array(count);
    case 'uint64':
      return new BigUint64Array(count);
    case 'int4':
    case 'uint4':
      return new Uint8Array(Math.ceil(count / 2));
    case 'string':
      return new Array<string>(count).fill('');
  }
}

/** An IR tensor as an ort.Tensor (bytes copied, so the result owns aligned memory). */
export function toOrtTensor(t: Tensor): ort.Tensor {
  const type = ortTypeOf(t.dataType);
  if (!type) throw new Error(`tensor '${t.name}': element type ${dtypeName(t.dataType)} has no onnxruntime-node equivalent`);
  if (type === 'string')
    return new ort.Tensor(
      'string',
      (t.strings ?? []).map((s) => new TextDecoder().decode(s)),
      [...t.dims],
    );
  const data = allocate(type, t.size) as Exclude<ort.Tensor.DataType, string[]>;
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(t.data.subarray(0, data.byteLength));
  return new ort.Tensor(type, data, [...t.dims]);
}

/** An ort.Tensor (on the CPU) as an IR tensor named `name`. */
export function fromOrtTensor(name: string, t: ort.Tensor): Tensor {
  const dataType = dataTypeOfOrt(t.type);
  if (dataType === undefined) throw new Error(`output '${name}': ORT type ${t.type} has no ONNX equivalent here`);
  const dims = t.dims.map(Number);
  if (t.type === 'string')
    return new Tensor(
      name,
      dataType,
      dims,
      new Uint8Array(0),
      (t.data as string[]).map((s) => new TextEncoder().encode(s)),
    );
  const data = t.data as Exclude<ort.Tensor.DataType, string[]>;
  return new Tensor(name, dataType, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
}
