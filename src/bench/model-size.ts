// A model's size on disk: the .onnx file plus every external-data file it names. The locations are
// checked on the way (relative, inside the model's folder, present) before ORT is given the model,
// because ORT would otherwise read whatever path the file names.

import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ModelFileError } from '../onnx/errors.js';
import { resolveExternalLocation, safeRealpath } from '../onnx/read-model.js';
import * as S from '../onnx/onnx-schema.js';
import { ProtoDecodeError, decodeMessage, type ProtoObject } from '../onnx/protobuf.js';
import { readFileSync } from 'node:fs';

export interface ModelSize {
  /** The .onnx file. */
  fileBytes: number;
  /** All external-data files together (each counted once). */
  externalBytes: number;
  /** External-data locations as the model names them. */
  externalFiles: string[];
  /** fileBytes + externalBytes. */
  totalBytes: number;
}

export function modelSize(path: string): ModelSize {
  let fileBytes: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new ModelFileError(path, 'is a folder, not an .onnx file', 'E_NO_FILE', 'pass the path of the .onnx file');
    fileBytes = st.size;
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    throw new ModelFileError(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'E_NO_FILE', 'check the path');
  }
  if (fileBytes > 2 ** 31)
    throw new ModelFileError(path, `is ${fileBytes} bytes, more than a protobuf file can hold`, 'E_LIMIT', 'store the weights as external data');
  let proto: ProtoObject;
  try {
    proto = decodeMessage(readFileSync(path), S.Model);
  } catch (e) {
    if (e instanceof ProtoDecodeError)
      throw new ModelFileError(
        path,
        `is not a readable ONNX model: ${e.message}`,
        'E_NOT_ONNX',
        'the file is truncated, corrupt or not ONNX; re-export or re-download it',
      );
    throw e;
  }
  if (!proto.graph)
    throw new ModelFileError(
      path,
      'is not an ONNX model (no graph field)',
      'E_NOT_ONNX',
      'pass an .onnx file exported by PyTorch, TensorFlow, Optimum or edgefit',
    );

  const locations = new Map<string, string>(); // location → tensor that first named it
  collectExternal(proto, locations);
  const root = safeRealpath(dirname(resolve(path)));
  const seen = new Set<string>();
  let externalBytes = 0;
  for (const [location, tensor] of locations) {
    const real = resolveExternalLocation(path, root, tensor, location);
    if (seen.has(real)) continue;
    seen.add(real);
    externalBytes += statSync(real).size;
  }
  return { fileBytes, externalBytes, externalFiles: [...locations.keys()], totalBytes: fileBytes + externalBytes };
}

/** Walks every decoded message (graphs, subgraphs, Constant attributes, functions) for external tensors. */
function collectExternal(obj: unknown, out: Map<string, string>): void {
  if (Array.isArray(obj)) {
    for (const x of obj) collectExternal(x, out);
    return;
  }
  if (typeof obj !== 'object' || obj === null || obj instanceof Uint8Array) return;
  const o = obj as ProtoObject;
  if (o.data_location === 1 && Array.isArray(o.external_data)) {
    const loc = (o.external_data as ProtoObject[]).find((e) => e.key === 'location')?.value;
    if (typeof loc === 'string' && !out.has(loc)) out.set(loc, (o.name as string | undefined) ?? '');
  }
  for (const v of Object.values(o)) if (typeof v === 'object') collectExternal(v, out);
}
