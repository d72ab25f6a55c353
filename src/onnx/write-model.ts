// Writes the IR to a .onnx file, atomically (temp file, then rename), with weights optionally moved to
// an external data file at aligned offsets. Models whose weights would pass protobuf's 2 GiB limit
// always get external data.

import { closeSync, openSync, renameSync, rmSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EdgefitError } from './errors.js';
import { encodeMessage, encodedSize } from './protobuf.js';
import type { Model } from './model.js';
import * as S from './onnx-schema.js';
import { modelToProto, type ExternalPlan, type ExternalRef } from './proto-convert.js';
import type { Tensor } from './tensor.js';

export interface ExternalDataOptions {
  /** File name, relative to the model's folder (default: `<model file>.data`). */
  location?: string;
  /** Tensors smaller than this many bytes stay inline (default 1024). */
  threshold?: number;
  /** Offsets are multiples of this (default 4096, the page size, so runtimes can map the file). */
  align?: number;
}

export interface WriteOptions {
  /** true, or options: move initializers to an external data file. */
  externalData?: boolean | ExternalDataOptions;
}

export interface WriteResult {
  path: string;
  bytes: number;
  externalDataPath?: string;
  externalBytes?: number;
  externalTensors?: number;
}

const PROTOBUF_LIMIT = 2 ** 31 - 1;

/**
 * Turns a file-system error met while writing `path` into a user error that says what is wrong with the
 * output path (missing folder, a folder in the way, no permission, disk full); other errors pass through.
 */
export function outputPathError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const dir = dirname(path);
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return undefined;
    }
  };
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      if (isDir(dir) === false) return new EdgefitError(`cannot write ${path}: ${dir} is a file, not a folder`, 'E_OUTPUT', 'pick another output path');
      if (isDir(dir) === undefined)
        return new EdgefitError(
          `cannot write ${path}: the folder ${dir} does not exist`,
          'E_OUTPUT',
          `create the folder first (mkdir -p ${JSON.stringify(dir)}) or pick another output path`,
        );
      return new EdgefitError(`cannot write ${path} (${code})`, 'E_OUTPUT', 'pick another output path');
    case 'EISDIR':
      return new EdgefitError(`cannot write ${path}: it is a folder`, 'E_OUTPUT', 'give the path of a file inside it, e.g. ' + join(path, 'model.onnx'));
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new EdgefitError(
        `cannot write ${path}: no permission to write in ${dir} (${code})`,
        'E_OUTPUT',
        'pick an output path in a folder you can write to',
      );
    case 'ENOSPC':
    case 'EDQUOT':
      return new EdgefitError(`cannot write ${path}: the disk is full (${code}); nothing was written`, 'E_OUTPUT', 'free some space or write to another disk');
    case 'ENAMETOOLONG':
      return new EdgefitError(`cannot write ${path}: the name is too long`, 'E_OUTPUT', 'pick a shorter output path');
    default:
      return e;
  }
}

/**
 * Throws the user error `outputPathError` would give if writing `path` is bound to fail (its folder is
 * missing or a file, or `path` is a folder), so that a command can refuse before long work, not after.
 */
export function checkOutputPath(path: string): void {
  const kind = (p: string) => {
    try {
      return statSync(p).isDirectory() ? 'dir' : 'file';
    } catch {
      return 'none';
    }
  };
  const dirKind = kind(dirname(path));
  if (dirKind !== 'dir') throw outputPathError(path, Object.assign(new Error(dirKind), { code: 'ENOENT' }));
  if (kind(path) === 'dir') throw outputPathError(path, Object.assign(new Error('EISDIR'), { code: 'EISDIR' }));
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    /* nothing there to remove, or the folder itself is missing */
  }
}

let tmpCounter = 0;
function tmpName(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Date.now()}-${tmpCounter++}`);
}

/** Writes `bytes` to `path` atomically: a crash leaves the old file or none, never half a file. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = tmpName(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, Math.min(data.length - off, 1 << 30));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw outputPathError(path, e);
  }
}

export function serializeModel(model: Model): Uint8Array {
  return encodeMessage(modelToProto(model), S.Model);
}

export function writeModel(model: Model, path: string, opts: WriteOptions = {}): WriteResult {
  let ext: ExternalDataOptions | undefined = opts.externalData === true ? {} : opts.externalData || undefined;
  if (!ext) {
    const inline = encodedSize(modelToProto(model), S.Model);
    if (inline <= PROTOBUF_LIMIT) {
      const bytes = serializeModel(model);
      writeFileAtomic(path, bytes);
      return { path, bytes: bytes.length };
    }
    ext = {}; // too big for one protobuf: weights go external
  }
  return writeWithExternal(model, path, ext);
}

function writeWithExternal(model: Model, path: string, ext: ExternalDataOptions): WriteResult {
  // a folder in the way of the model would only be found after the data file replaced the old one
  checkOutputPath(path);
  const location = ext.location ?? `${basename(path)}.data`;
  if (location.includes('/') || location.includes('\\') || location.startsWith('.'))
    throw new Error(`external data location must be a plain file name, got '${location}'`);
  const threshold = ext.threshold ?? 1024;
  const align = ext.align ?? 4096;
  const dataPath = join(dirname(path), location);
  const dataTmp = tmpName(dataPath);
  let fd: number;
  try {
    fd = openSync(dataTmp, 'w');
  } catch (e) {
    throw outputPathError(dataPath, e);
  }
  let offset = 0;
  let count = 0;
  const placed = new Map<Tensor, ExternalRef>();
  try {
    const plan: ExternalPlan = {
      place(t) {
        if (t.data.length < threshold) return undefined;
        const hit = placed.get(t);
        if (hit) return hit;
        offset = Math.ceil(offset / align) * align;
        let off = 0;
        while (off < t.data.length) off += writeSync(fd, t.data, off, Math.min(t.data.length - off, 1 << 30), offset + off);
        const ref = { location, offset, length: t.data.length };
        placed.set(t, ref);
        offset += t.data.length;
        count++;
        return ref;
      },
    };
    const proto = modelToProto(model, plan);
    fsyncSync(fd);
    closeSync(fd);
    const size = encodedSize(proto, S.Model);
    if (size > PROTOBUF_LIMIT)
      throw new EdgefitError(
        `${path}: the model is ${size} bytes even with initializers in external data, over protobuf's 2 GiB limit`,
        'E_TOO_BIG',
        'the weights sit in Constant nodes, which stay inline; convert them first (constantsToInitializers, or `edgefit convert --external-data`)',
      );
    const bytes = encodeMessage(proto, S.Model);
    try {
      renameSync(dataTmp, dataPath);
    } catch (e) {
      throw outputPathError(dataPath, e);
    }
    writeFileAtomic(path, bytes);
    return { path, bytes: bytes.length, externalDataPath: dataPath, externalBytes: offset, externalTensors: count };
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    removeQuietly(dataTmp);
    throw outputPathError(dataPath, e);
  }
}
