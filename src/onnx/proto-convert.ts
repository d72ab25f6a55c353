// Decoded protobuf objects (onnx-schema.ts) ⇄ the IR (Model, Graph, Node, Tensor).
// Typed tensor fields (float_data, int32_data, …) become raw little-endian bytes on the way in;
// everything is written back as raw_data.

import { DataType, dtypeBits, dtypeName, rawByteLength } from './dtype.js';
import { Graph, Node, type AttributeValue, type Dim, type ValueInfo, type ValueType } from './graph.js';
import { Model } from './model.js';
import type { ProtoObject } from './protobuf.js';
import { Tensor } from './tensor.js';

const utf8d = new TextDecoder();
const utf8e = new TextEncoder();

export interface ExternalRef {
  location: string;
  offset: number;
  length?: number;
  /** The tensor's byte size from its dims and type: what the file must hold from `offset`. */
  bytes?: number;
}

export interface ConvertHooks {
  /** Loads the bytes of an external tensor; called once per external tensor. */
  external?(tensorName: string, ref: ExternalRef): Uint8Array;
  /** Called with every tensor as it is decoded (limits, checks). */
  onTensor?(t: Tensor, where: string): void;
  /** Called with every declared value type (limits on dims). */
  onValueInfo?(v: ValueInfo, where: string): void;
}

// ------------------------------------------------------------------ tensors

/** Which typed field holds a dtype's values, and how many entries `count` elements take there. */
function typedField(dt: number, count: number): [field: string, entries: number] | undefined {
  switch (dt) {
    case DataType.FLOAT:
      return ['float_data', count];
    case DataType.COMPLEX64:
      return ['float_data', 2 * count];
    case DataType.DOUBLE:
      return ['double_data', count];
    case DataType.COMPLEX128:
      return ['double_data', 2 * count];
    case DataType.INT64:
      return ['int64_data', count];
    case DataType.UINT32:
    case DataType.UINT64:
      return ['uint64_data', count];
    case DataType.INT4:
    case DataType.UINT4:
    case DataType.FLOAT4E2M1:
      return ['int32_data', Math.ceil(count / 2)];
    default:
      return dtypeBits(dt) > 0 && dtypeBits(dt) <= 32 ? ['int32_data', count] : undefined;
  }
}

function typedToRaw(p: ProtoObject, dt: number, count: number, name: string): Uint8Array {
  // check the values are there before allocating: a corrupt dim must not cost gigabytes
  const where = typedField(dt, count);
  if (!where) throw new TensorDataError(name, `element type ${dtypeName(dt)} is not supported`);
  const have = ((p[where[0]] as number[] | undefined) ?? []).length;
  if (have < where[1]) throw new TensorDataError(name, `${where[0]} holds ${have} values, dims need ${where[1]}`);
  const out = new Uint8Array(rawByteLength(dt, count));
  const dv = new DataView(out.buffer);
  const fl = (p.float_data as number[] | undefined) ?? [];
  const i32 = (p.int32_data as number[] | undefined) ?? [];
  const i64 = (p.int64_data as number[] | undefined) ?? [];
  const dbl = (p.double_data as number[] | undefined) ?? [];
  const u64 = (p.uint64_data as number[] | undefined) ?? [];
  const need = (arr: number[], n: number, field: string) => {
    if (arr.length < n) throw new TensorDataError(name, `${field} holds ${arr.length} values, dims need ${n}`);
  };
  switch (dt) {
    case DataType.FLOAT:
      need(fl, count, 'float_data');
      for (let i = 0; i < count; i++) dv.setFloat32(4 * i, fl[i]!, true);
      break;
    case DataType.COMPLEX64:
      need(fl, 2 * count, 'float_data');
      for (let i = 0; i < 2 * count; i++) dv.setFloat32(4 * i, fl[i]!, true);
      break;
    case DataType.DOUBLE:
      need(dbl, count, 'double_data');
      for (let i = 0; i < count; i++) dv.setFloat64(8 * i, dbl[i]!, true);
      break;
    case DataType.COMPLEX128:
      need(dbl, 2 * count, 'double_data');
      for (let i = 0; i < 2 * count; i++) dv.setFloat64(8 * i, dbl[i]!, true);
      break;
    case DataType.INT64:
      need(i64, count, 'int64_data');
      for (let i = 0; i < count; i++) dv.setBigInt64(8 * i, BigInt.asIntN(64, BigInt(Math.trunc(clamp64(i64[i]!)))), true);
      break;
    case DataType.UINT32:
      need(u64, count, 'uint64_data');
      for (let i = 0; i < count; i++) dv.setUint32(4 * i, u64[i]!, true);
      break;
    case DataType.UINT64:
      need(u64, count, 'uint64_data');
      for (let i = 0; i < count; i++) dv.setBigUint64(8 * i, BigInt.asUintN(64, BigInt(Math.trunc(u64[i]!))), true);
      break;
    case DataType.INT32:
      need(i32, count, 'int32_data');
      for (let i = 0; i < count; i++) dv.setInt32(4 * i, i32[i]!, true);
      break;
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      need(i32, count, 'int32_data');
      for (let i = 0; i < count; i++) dv.setUint16(2 * i, i32[i]! & 0xffff, true);
      break;
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      need(i32, count, 'int32_data');
      for (let i = 0; i < count; i++) out[i] = i32[i]! & 0xff;
      break;
    case DataType.INT4:
    case DataType.UINT4:
    case DataType.FLOAT4E2M1: {
      // int32_data holds the packed bytes: two 4-bit elements per entry
      const bytes = Math.ceil(count / 2);
      need(i32, bytes, 'int32_data');
      for (let i = 0; i < bytes; i++) out[i] = i32[i]! & 0xff;
      break;
    }
    default:
      throw new TensorDataError(name, `element type ${dtypeName(dt)} is not supported`);
  }
  return out;
}

function clamp64(v: number): number {
  return Math.max(-(2 ** 63), Math.min(2 ** 63, v));
}

export class TensorDataError extends Error {
  constructor(
    readonly tensor: string,
    problem: string,
  ) {
    super(`tensor '${tensor}': ${problem}`);
  }
}

export function tensorFromProto(p: ProtoObject, hooks: ConvertHooks = {}, where = 'initializer'): Tensor {
  const name = (p.name as string | undefined) ?? '';
  const dt = (p.data_type as number | undefined) ?? 0;
  const dims = ((p.dims as number[] | undefined) ?? []).map((d) => d);
  for (const d of dims) if (!Number.isSafeInteger(d) || d < 0) throw new TensorDataError(name, `has an invalid dim ${d}`);
  const count = dims.reduce((a, b) => a * b, 1);
  let t: Tensor;
  if (dt === DataType.STRING) {
    t = new Tensor(name, dt, dims, new Uint8Array(0), [...((p.string_data as Uint8Array[] | undefined) ?? [])]);
  } else if (p.data_location === 1) {
    const entries = Object.fromEntries(
      ((p.external_data as ProtoObject[] | undefined) ?? []).map((e) => [e.key as string, (e.value as string | undefined) ?? '']),
    );
    if (!entries.location) throw new TensorDataError(name, 'is marked external but names no location');
    const ref: ExternalRef = {
      location: entries.location,
      offset: entries.offset ? Number(entries.offset) : 0,
      length: entries.length ? Number(entries.length) : undefined,
    };
    if (!Number.isSafeInteger(ref.offset) || ref.offset < 0 || (ref.length !== undefined && (!Number.isSafeInteger(ref.length) || ref.length < 0)))
      throw new TensorDataError(name, `has an invalid external offset/length (${entries.offset}, ${entries.length})`);
    if (!hooks.external) throw new TensorDataError(name, 'has external data but the model was read from bytes with no folder');
    if (dtypeBits(dt) === 0) throw new TensorDataError(name, `element type ${dtypeName(dt)} is not supported in external data`);
    // known before any byte is read, so a length-less tensor reads what it needs, not the rest of the file
    ref.bytes = rawByteLength(dt, count);
    t = new Tensor(name, dt, dims, hooks.external(name, ref));
  } else if (p.raw_data !== undefined) {
    t = new Tensor(name, dt, dims, p.raw_data as Uint8Array);
  } else {
    t = new Tensor(name, dt, dims, typedToRaw(p, dt, count, name));
  }
  if (p.doc_string) t.docString = p.doc_string as string;
  hooks.onTensor?.(t, where);
  return t;
}

export interface ExternalPlan {
  /** Returns where the tensor's bytes went, or undefined to keep them inline. */
  place(t: Tensor): ExternalRef | undefined;
}

export function tensorToProto(t: Tensor, plan?: ExternalPlan): ProtoObject {
  const p: ProtoObject = { dims: [...t.dims], data_type: t.dataType, name: t.name || undefined };
  if (t.docString) p.doc_string = t.docString;
  if (t.dataType === DataType.STRING) {
    p.string_data = [...(t.strings ?? [])];
    return p;
  }
  const ref = plan?.place(t);
  if (ref) {
    p.data_location = 1;
    p.external_data = [
      { key: 'location', value: ref.location },
      { key: 'offset', value: String(ref.offset) },
      { key: 'length', value: String(ref.length ?? t.data.length) },
    ];
  } else p.raw_data = t.data;
  return p;
}

// ------------------------------------------------------------------ types

function shapeFromProto(s: ProtoObject | undefined): Dim[] | undefined {
  if (!s) return undefined;
  return (s.dim as ProtoObject[]).map((d) => (d.dim_value !== undefined ? (d.dim_value as number) : d.dim_param ? (d.dim_param as string) : undefined));
}

function shapeToProto(shape: Dim[] | undefined): ProtoObject | undefined {
  if (!shape) return undefined;
  return { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {})) };
}

export function typeFromProto(p: ProtoObject | undefined): ValueType | undefined {
  if (!p) return undefined;
  if (p.tensor_type) {
    const t = p.tensor_type as ProtoObject;
    return { kind: 'tensor', elemType: (t.elem_type as number) ?? 0, shape: shapeFromProto(t.shape as ProtoObject | undefined) };
  }
  if (p.sparse_tensor_type) {
    const t = p.sparse_tensor_type as ProtoObject;
    return { kind: 'sparse', elemType: (t.elem_type as number) ?? 0, shape: shapeFromProto(t.shape as ProtoObject | undefined) };
  }
  if (p.sequence_type) return { kind: 'sequence', elem: typeFromProto((p.sequence_type as ProtoObject).elem_type as ProtoObject) };
  if (p.optional_type) return { kind: 'optional', elem: typeFromProto((p.optional_type as ProtoObject).elem_type as ProtoObject) };
  if (p.map_type) {
    const m = p.map_type as ProtoObject;
    return { kind: 'map', keyType: (m.key_type as number) ?? 0, value: typeFromProto(m.value_type as ProtoObject) };
  }
  return undefined;
}

export function typeToProto(t: ValueType | undefined): ProtoObject | undefined {
  if (!t) return undefined;
  switch (t.kind) {
    case 'tensor':
      return { tensor_type: { elem_type: t.elemType, shape: shapeToProto(t.shape) } };
    case 'sparse':
      return { sparse_tensor_type: { elem_type: t.elemType, shape: shapeToProto(t.shape) } };
    case 'sequence':
      return { sequence_type: { elem_type: typeToProto(t.elem) } };
    case 'optional':
      return { optional_type: { elem_type: typeToProto(t.elem) } };
    case 'map':
      return { map_type: { key_type: t.keyType, value_type: typeToProto(t.value) } };
  }
}

function valueInfoFromProto(p: ProtoObject, hooks: ConvertHooks, where: string): ValueInfo {
  const v: ValueInfo = { name: (p.name as string) ?? '', type: typeFromProto(p.type as ProtoObject | undefined) };
  if (p.doc_string) v.docString = p.doc_string as string;
  hooks.onValueInfo?.(v, where);
  return v;
}

function valueInfoToProto(v: ValueInfo): ProtoObject {
  return { name: v.name, type: typeToProto(v.type), doc_string: v.docString || undefined };
}

// ------------------------------------------------------------------ attributes, nodes, graphs

const ATTR = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
};

function attributeFromProto(p: ProtoObject, hooks: ConvertHooks, where: string): AttributeValue {
  let type = (p.type as number | undefined) ?? 0;
  if (p.ref_attr_name) return { type: 'ref', value: p.ref_attr_name as string, refType: type };
  if (type === 0) {
    // IR < 4 files may omit the type: infer it from the field that is set
    if (p.f !== undefined) type = ATTR.FLOAT;
    else if (p.i !== undefined) type = ATTR.INT;
    else if (p.s !== undefined) type = ATTR.STRING;
    else if (p.t !== undefined) type = ATTR.TENSOR;
    else if (p.g !== undefined) type = ATTR.GRAPH;
    else if ((p.floats as number[]).length) type = ATTR.FLOATS;
    else if ((p.ints as number[]).length) type = ATTR.INTS;
    else if ((p.strings as unknown[]).length) type = ATTR.STRINGS;
    else if ((p.tensors as unknown[]).length) type = ATTR.TENSORS;
    else if ((p.graphs as unknown[]).length) type = ATTR.GRAPHS;
  }
  switch (type) {
    case ATTR.FLOAT:
      return { type: 'float', value: (p.f as number) ?? 0 };
    case ATTR.INT:
      return { type: 'int', value: (p.i as number) ?? 0 };
    case ATTR.STRING:
      return { type: 'string', value: utf8d.decode((p.s as Uint8Array) ?? new Uint8Array()) };
    case ATTR.TENSOR:
      return { type: 'tensor', value: tensorFromProto((p.t as ProtoObject) ?? { dims: [] }, hooks, where) };
    case ATTR.GRAPH:
      return { type: 'graph', value: graphFromProto((p.g as ProtoObject) ?? {}, hooks, `${where}/${p.name as string}`) };
    case ATTR.FLOATS:
      return { type: 'floats', value: [...(p.floats as number[])] };
    case ATTR.INTS:
      return { type: 'ints', value: [...(p.ints as number[])] };
    case ATTR.STRINGS:
      return { type: 'strings', value: (p.strings as Uint8Array[]).map((s) => utf8d.decode(s)) };
    case ATTR.TENSORS:
      return { type: 'tensors', value: (p.tensors as ProtoObject[]).map((t) => tensorFromProto(t, hooks, where)) };
    case ATTR.GRAPHS:
      return { type: 'graphs', value: (p.graphs as ProtoObject[]).map((g, k) => graphFromProto(g, hooks, `${where}/${p.name as string}[${k}]`)) };
    default:
      return { type: 'opaque', value: p };
  }
}

function attributeToProto(name: string, a: AttributeValue, plan?: ExternalPlan): ProtoObject {
  switch (a.type) {
    case 'float':
      return { name, type: ATTR.FLOAT, f: a.value };
    case 'int':
      return { name, type: ATTR.INT, i: a.value };
    case 'string':
      return { name, type: ATTR.STRING, s: utf8e.encode(a.value) };
    case 'tensor': // attribute tensors (Constant values) stay inline: runtimes read external data for initializers
      return { name, type: ATTR.TENSOR, t: tensorToProto(a.value) };
    case 'graph':
      return { name, type: ATTR.GRAPH, g: graphToProto(a.value, plan) };
    case 'floats':
      return { name, type: ATTR.FLOATS, floats: a.value };
    case 'ints':
      return { name, type: ATTR.INTS, ints: a.value };
    case 'strings':
      return { name, type: ATTR.STRINGS, strings: a.value.map((s) => utf8e.encode(s)) };
    case 'tensors':
      return { name, type: ATTR.TENSORS, tensors: a.value.map((t) => tensorToProto(t)) };
    case 'graphs':
      return { name, type: ATTR.GRAPHS, graphs: a.value.map((g) => graphToProto(g, plan)) };
    case 'ref':
      return { name, type: a.refType, ref_attr_name: a.value };
    case 'opaque':
      return { ...a.value, name };
  }
}

function kv(list: unknown): [string, string][] {
  return ((list as ProtoObject[] | undefined) ?? []).map((e) => [(e.key as string) ?? '', (e.value as string) ?? '']);
}
function kvToProto(list: [string, string][] | undefined): ProtoObject[] | undefined {
  return list?.length ? list.map(([key, value]) => ({ key, value })) : undefined;
}

export function nodeFromProto(p: ProtoObject, hooks: ConvertHooks, where: string): Node {
  const name = (p.name as string) ?? '';
  const attrs = new Map<string, AttributeValue>();
  for (const a of p.attribute as ProtoObject[]) attrs.set((a.name as string) ?? '', attributeFromProto(a, hooks, `${where}/${name || (p.op_type as string)}`));
  const n = new Node((p.op_type as string) ?? '', [...(p.input as string[])], [...(p.output as string[])], name, (p.domain as string) ?? '', attrs);
  if (p.doc_string) n.docString = p.doc_string as string;
  if (p.overload) n.overload = p.overload as string;
  const md = kv(p.metadata_props);
  if (md.length) n.metadata = md;
  return n;
}

export function nodeToProto(n: Node, plan?: ExternalPlan): ProtoObject {
  return {
    input: n.inputs,
    output: n.outputs,
    name: n.name || undefined,
    op_type: n.opType,
    domain: n.domain || undefined,
    overload: n.overload,
    attribute: [...n.attributes].map(([k, a]) => attributeToProto(k, a, plan)),
    doc_string: n.docString,
    metadata_props: kvToProto(n.metadata),
  };
}

const GRAPH_LISTS = ['node', 'initializer', 'sparse_initializer', 'input', 'output', 'value_info', 'quantization_annotation', 'metadata_props'];

export function graphFromProto(p0: ProtoObject, hooks: ConvertHooks = {}, where = 'graph'): Graph {
  // an attribute that says GRAPH but holds none decodes as {}: read it as an empty graph
  const p: ProtoObject = { ...p0 };
  for (const k of GRAPH_LISTS) p[k] ??= [];
  const g = new Graph((p.name as string) ?? '');
  for (const t of p.initializer as ProtoObject[]) {
    const tensor = tensorFromProto(t, hooks, `${where} initializer`);
    g.initializers.set(tensor.name, tensor);
  }
  g.inputs = (p.input as ProtoObject[]).map((v) => valueInfoFromProto(v, hooks, `${where} input`));
  g.outputs = (p.output as ProtoObject[]).map((v) => valueInfoFromProto(v, hooks, `${where} output`));
  for (const v of p.value_info as ProtoObject[]) {
    const vi = valueInfoFromProto(v, hooks, `${where} value_info`);
    g.valueInfo.set(vi.name, vi);
  }
  g.nodes = (p.node as ProtoObject[]).map((n) => nodeFromProto(n, hooks, where));
  if (p.doc_string) g.docString = p.doc_string as string;
  g.sparseInitializers = [...(p.sparse_initializer as ProtoObject[])];
  g.quantizationAnnotation = [...(p.quantization_annotation as ProtoObject[])];
  g.metadata = kv(p.metadata_props);
  return g;
}

export function graphToProto(g: Graph, plan?: ExternalPlan): ProtoObject {
  return {
    node: g.nodes.map((n) => nodeToProto(n, plan)),
    name: g.name,
    initializer: [...g.initializers.values()].map((t) => tensorToProto(t, plan)),
    sparse_initializer: g.sparseInitializers,
    doc_string: g.docString,
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
    value_info: [...g.valueInfo.values()].map(valueInfoToProto),
    quantization_annotation: g.quantizationAnnotation,
    metadata_props: kvToProto(g.metadata),
  };
}

export function modelFromProto(p: ProtoObject, hooks: ConvertHooks = {}): Model {
  const m = new Model(graphFromProto((p.graph as ProtoObject) ?? {}, hooks));
  m.irVersion = (p.ir_version as number) ?? 0;
  m.opsetImports = (p.opset_import as ProtoObject[]).map((o) => ({ domain: (o.domain as string) ?? '', version: (o.version as number) ?? 0 }));
  m.producerName = (p.producer_name as string) ?? '';
  m.producerVersion = (p.producer_version as string) ?? '';
  m.domain = (p.domain as string) ?? '';
  m.modelVersion = (p.model_version as number) ?? 0;
  m.docString = (p.doc_string as string) ?? '';
  m.metadata = kv(p.metadata_props);
  m.functions = [...(p.functions as ProtoObject[])];
  return m;
}

export function modelToProto(m: Model, plan?: ExternalPlan): ProtoObject {
  return {
    ir_version: m.irVersion,
    opset_import: m.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
    producer_name: m.producerName || undefined,
    producer_version: m.producerVersion || undefined,
    domain: m.domain || undefined,
    model_version: m.modelVersion || undefined,
    doc_string: m.docString || undefined,
    graph: graphToProto(m.graph, plan),
    metadata_props: kvToProto(m.metadata),
    functions: m.functions,
  };
}
