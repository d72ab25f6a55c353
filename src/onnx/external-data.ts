// External tensor data, read safely: the location must be a relative path to a regular file inside the
// model's folder (symlinks resolved), and offset and length are checked against the file's size and the
// tensor's byte size before a byte is read. Only the bytes the tensor needs are read.

import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ModelFileError } from './errors.js';
import type { ReadLimits } from './limits.js';
import type { ExternalRef } from './proto-convert.js';

/** The real path of `p` (links resolved), or `p` made absolute when it does not exist. */
export function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/** True when a relative path climbs out of its base: '..' or '../x', but not '..ok.bin'. */
function climbsOut(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith('../') || isAbsolute(rel);
}

/** What a non-regular file is, for the message. */
function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * An external-data location of `file`, checked: relative, inside `root` (the model's real folder, see
 * safeRealpath), present, a regular file, and not leaving `root` through a link. Returns the real path of
 * the data file; anything else is a ModelFileError naming `tensor`. Also used by src/bench/model-size.ts
 * before ORT is given a model.
 */
export function resolveExternalLocation(file: string, root: string, tensor: string, location: string): string {
  const bad = (why: string): never => {
    throw new ModelFileError(
      file,
      `tensor '${tensor}' has external data location '${location}' that ${why}`,
      'E_UNSAFE_PATH',
      "external data must sit in the model's folder (or below it) and be named by a relative path",
    );
  };
  if (location.includes('\0')) bad('contains a NUL byte');
  if (isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith('\\')) bad('is absolute');
  const joined = resolve(root, location);
  const rel = relative(root, joined);
  if (rel === '' || climbsOut(rel)) bad("escapes the model's folder");
  let real: string;
  try {
    real = realpathSync(joined);
  } catch {
    throw new ModelFileError(
      file,
      `tensor '${tensor}' needs external data file '${location}', which does not exist in ${root}`,
      'E_NO_EXTERNAL',
      'copy the data file next to the model',
    );
  }
  if (climbsOut(relative(root, real))) bad(`escapes the model's folder through a link (to ${real})`);
  // stat never blocks, unlike open on a FIFO
  const st = statSync(real);
  if (!st.isFile())
    throw new ModelFileError(
      file,
      `the external data location '${location}' of tensor '${tensor}' is ${kindOf(st)}, not a regular file`,
      'E_NOT_REGULAR',
      'point the location at the data file written with the model',
    );
  return real;
}

/** Opens a file for reading; a file that exists but cannot be opened (no permission, …) is a user error. */
export function openForRead(path: string, label: string, what: string): number {
  try {
    // O_NONBLOCK: should a FIFO be swapped in after the checks, open returns instead of waiting for a writer
    return openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    const hint =
      code === 'EACCES' || code === 'EPERM' ? `check the permissions of ${path} (the user running edgefit must be able to read it)` : 'check the path';
    throw new ModelFileError(label, `${what} cannot be read (${code})`, 'E_NO_FILE', hint);
  }
}

/** Reads external tensors of one model file. */
export class ExternalReader {
  private readonly root: string;
  constructor(
    baseDir: string,
    private readonly file: string,
    private readonly limits: ReadLimits,
  ) {
    this.root = safeRealpath(baseDir);
  }

  /** The location, checked: relative, no escape from the model folder, symlinks resolved, a regular file. */
  resolveLocation(tensor: string, location: string): string {
    return resolveExternalLocation(this.file, this.root, tensor, location);
  }

  /** Validates an external tensor's location and extent without reading it; returns its length. */
  check(tensor: string, ref: ExternalRef): number {
    return this.withFile(tensor, ref, (_fd, length) => length);
  }

  /** The tensor's bytes: exactly `length` (or the tensor's byte size) from `offset`, nothing more. */
  read(tensor: string, ref: ExternalRef): Uint8Array {
    return this.withFile(tensor, ref, (fd, length) => {
      const buf = new Uint8Array(length);
      let off = 0;
      while (off < length) {
        const n = readSync(fd, buf, off, Math.min(length - off, 1 << 30), ref.offset + off);
        if (n === 0) break;
        off += n;
      }
      if (off < length)
        throw new ModelFileError(
          this.file,
          `external tensor '${tensor}': '${ref.location}' ended after ${off} of ${length} bytes`,
          'E_TRUNCATED',
          'the data file is truncated; copy it again',
        );
      return buf;
    });
  }

  private withFile<T>(tensor: string, ref: ExternalRef, use: (fd: number, length: number) => T): T {
    const path = this.resolveLocation(tensor, ref.location);
    // opened, not only stat'ed: a file ORT cannot read would otherwise fail there with a bare errno
    const fd = openForRead(path, this.file, `the external data file '${ref.location}' of tensor '${tensor}'`);
    try {
      const st = fstatSync(fd);
      if (!st.isFile())
        throw new ModelFileError(
          this.file,
          `the external data file '${ref.location}' of tensor '${tensor}' is ${kindOf(st)}`,
          'E_NOT_REGULAR',
          'point the location at the data file',
        );
      return use(fd, this.extent(tensor, ref, st.size));
    } finally {
      closeSync(fd);
    }
  }

  /** The number of bytes to read, checked against the tensor's size, the limit and the file's size. */
  private extent(tensor: string, ref: ExternalRef, size: number): number {
    const where = `external tensor '${tensor}' in '${ref.location}'`;
    if (ref.length !== undefined && ref.bytes !== undefined && ref.length !== ref.bytes)
      throw new ModelFileError(
        this.file,
        `${where} has length ${ref.length}, but its dims and type need ${ref.bytes} bytes`,
        'E_TENSOR',
        'the model file is corrupt; re-export it',
      );
    const length = ref.length ?? ref.bytes ?? size - ref.offset;
    if (length > this.limits.maxTensorBytes)
      throw new ModelFileError(
        this.file,
        `${where} is ${length} bytes, over the ${this.limits.maxTensorBytes}-byte limit`,
        'E_LIMIT',
        'raise --max-tensor-bytes if the model is genuine',
      );
    if (ref.offset > size)
      throw new ModelFileError(
        this.file,
        `${where} starts at offset ${ref.offset}, past the end of the file (${size} bytes)`,
        'E_TRUNCATED',
        'the data file is truncated or is not the one written with this model; copy it again',
      );
    if (ref.offset + length > size)
      throw new ModelFileError(
        this.file,
        `${where} wants bytes ${ref.offset}..${ref.offset + length} of '${ref.location}', which has only ${size}`,
        'E_TRUNCATED',
        'the data file is truncated; copy it again',
      );
    return length;
  }
}
