// Reads a .onnx file into the IR, with external data resolved safely and every limit checked.
// External-data locations are checked before any byte of them is read (see external-data.ts).

import { closeSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ModelFileError } from './errors.js';
import { ExternalReader, openForRead } from './external-data.js';
import { rawByteLength, dtypeName } from './dtype.js';
import type { ValueInfo, ValueType } from './graph.js';
import { withLimits, type ReadLimits } from './limits.js';
import type { Model } from './model.js';
import * as S from './onnx-schema.js';
import { ProtoDecodeError, decodeMessage, type ProtoObject } from './protobuf.js';
import { TensorDataError, modelFromProto, type ConvertHooks } from './proto-convert.js';
import { tensorSizeProblem, type Tensor } from './tensor.js';

export { resolveExternalLocation, safeRealpath } from './external-data.js';

export interface ReadOptions {
  limits?: Partial<ReadLimits>;
  /** Folder that external-data locations are relative to (default: the model's folder). */
  baseDir?: string;
  /** Told about each external tensor as it is read: which file, how many bytes (for inspect). */
  onExternalData?(tensor: string, location: string, bytes: number): void;
  /**
   * 'check': validate external data (location, file length, size limit) without reading it; external
   * tensors then hold no bytes. For callers that only need the graph (bench, inspect of huge models).
   */
  externalData?: 'read' | 'check';
}

/** The bytes of an external tensor that was checked but not read (ReadOptions.externalData = 'check'). */
export const EXTERNAL_UNREAD = new Uint8Array(0);

export function readModel(path: string, opts: ReadOptions = {}): Model {
  const limits = withLimits(opts.limits);
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new ModelFileError(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'E_NO_FILE', 'check the path');
  }
  if (st.isDirectory()) throw new ModelFileError(path, 'is a folder, not an .onnx file', 'E_NO_FILE', 'pass the path of the .onnx file');
  if (!st.isFile()) throw new ModelFileError(path, 'is not a regular file (a FIFO, socket or device)', 'E_NOT_REGULAR', 'pass the path of the .onnx file');
  if (st.size > limits.maxFileBytes)
    throw new ModelFileError(
      path,
      `is ${st.size} bytes, over the ${limits.maxFileBytes}-byte limit`,
      'E_LIMIT',
      'raise the limit, or store the weights as external data',
    );
  const bytes = readWhole(path, st.size);
  return readModelFromBytes(bytes, { ...opts, baseDir: opts.baseDir ?? dirname(resolve(path)) }, path);
}

function readWhole(path: string, size: number): Uint8Array {
  const fd = openForRead(path, path, 'the file');
  try {
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === size ? buf : buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/** Parses a model held in memory; `label` names it in errors. Without baseDir, external data is an error. */
export function readModelFromBytes(bytes: Uint8Array, opts: ReadOptions = {}, label = '<bytes>'): Model {
  const limits = withLimits(opts.limits);
  if (bytes.length === 0) throw new ModelFileError(label, 'is empty', 'E_NOT_ONNX', 'the file is not an ONNX model; re-export it');
  let proto;
  try {
    proto = decodeMessage(bytes, S.Model, { maxDepth: limits.maxDepth });
  } catch (e) {
    if (e instanceof ProtoDecodeError)
      throw new ModelFileError(
        label,
        `is not a readable ONNX model: ${e.message}`,
        'E_NOT_ONNX',
        'the file is truncated, corrupt or not ONNX; re-export or re-download it',
      );
    throw e;
  }
  if (!proto.graph || proto.ir_version === undefined)
    throw new ModelFileError(
      label,
      `is not an ONNX model (no ${proto.graph ? 'ir_version' : 'graph'} field)`,
      'E_NOT_ONNX',
      'pass an .onnx file exported by PyTorch, TensorFlow, Optimum or edgefit',
    );

  const external = opts.baseDir ? new ExternalReader(opts.baseDir, label, limits) : undefined;
  // every external location is checked before any external byte is read
  if (external) for (const [tensor, location] of externalLocations(proto)) external.resolveLocation(tensor, location);
  const hooks: ConvertHooks = {
    external: external
      ? (name, ref) => {
          if (opts.externalData === 'check') {
            const length = external.check(name, ref);
            opts.onExternalData?.(name, ref.location, length);
            return EXTERNAL_UNREAD;
          }
          const data = external.read(name, ref);
          opts.onExternalData?.(name, ref.location, data.length);
          return data;
        }
      : undefined,
    onTensor: (t, where) => checkTensor(t, where, label, limits),
    onValueInfo: (v, where) => checkValueInfo(v, where, label, limits),
  };
  try {
    return modelFromProto(proto, hooks);
  } catch (e) {
    if (e instanceof TensorDataError) throw new ModelFileError(label, e.message, 'E_TENSOR', 'the file is corrupt; re-export it');
    throw e;
  }
}

/** [tensor name, location] of every tensor marked external: initializers and attribute tensors, in every subgraph. */
function externalLocations(model: ProtoObject): [string, string][] {
  const out: [string, string][] = [];
  const tensor = (t: ProtoObject | undefined) => {
    if (t?.data_location !== 1) return;
    const loc = ((t.external_data as ProtoObject[] | undefined) ?? []).find((e) => e.key === 'location');
    if (loc) out.push([(t.name as string | undefined) ?? '', (loc.value as string | undefined) ?? '']);
  };
  const graph = (g: ProtoObject | undefined) => {
    if (!g) return;
    for (const t of (g.initializer as ProtoObject[] | undefined) ?? []) tensor(t);
    for (const n of (g.node as ProtoObject[] | undefined) ?? [])
      for (const a of (n.attribute as ProtoObject[] | undefined) ?? []) {
        tensor(a.t as ProtoObject | undefined);
        for (const t of (a.tensors as ProtoObject[] | undefined) ?? []) tensor(t);
        graph(a.g as ProtoObject | undefined);
        for (const sg of (a.graphs as ProtoObject[] | undefined) ?? []) graph(sg);
      }
  };
  graph(model.graph as ProtoObject | undefined);
  return out;
}

function checkTensor(t: Tensor, where: string, file: string, limits: ReadLimits): void {
  for (const d of t.dims)
    if (d > limits.maxDim)
      throw new ModelFileError(
        file,
        `${where} '${t.name}' declares dim ${d}, over the limit of ${limits.maxDim}`,
        'E_LIMIT',
        'raise --max-dim if the model is genuine',
      );
  const bytes = rawByteLength(t.dataType, t.size);
  if (bytes > limits.maxTensorBytes)
    throw new ModelFileError(
      file,
      `${where} '${t.name}' is ${bytes} bytes of ${dtypeName(t.dataType)}, over the ${limits.maxTensorBytes}-byte limit`,
      'E_LIMIT',
      'raise --max-tensor-bytes if the model is genuine',
    );
  const problem = t.data === EXTERNAL_UNREAD ? undefined : tensorSizeProblem(t);
  if (problem) throw new ModelFileError(file, `${where} '${t.name}' ${problem}`, 'E_TENSOR', 'the file is truncated or corrupt; re-export it');
}

function checkValueInfo(v: ValueInfo, where: string, file: string, limits: ReadLimits): void {
  const visit = (t: ValueType | undefined): void => {
    if (!t) return;
    if (t.kind === 'tensor' || t.kind === 'sparse') {
      for (const d of t.shape ?? [])
        if (typeof d === 'number' && (d > limits.maxDim || d < 0))
          throw new ModelFileError(
            file,
            `${where} '${v.name}' declares dim ${d}, outside 0..${limits.maxDim}`,
            'E_LIMIT',
            'raise --max-dim if the model is genuine',
          );
    } else if (t.kind === 'map') visit(t.value);
    else visit(t.elem);
  };
  visit(v.type);
}
