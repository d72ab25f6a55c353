// Reading data files a user points at, safely: items resolved with their links and kept inside the data
// folder, only regular files opened (a FIFO would block forever), text checked to be valid UTF-8.

import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { DataError } from './errors.js';

/** What a path is when it is not a regular file, for messages. */
function kind(st: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean }): string {
  return st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO (named pipe)' : st.isSocket() ? 'a socket' : 'a device or other special file';
}

/** Why `path` cannot be read as a regular file, or undefined. stat, unlike open, never blocks on a FIFO. */
export function notRegular(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot be read (${(e as NodeJS.ErrnoException).code})`;
  }
  return st.isFile() ? undefined : `is ${kind(st)}, not a regular file`;
}

/** The whole of a regular file; throws a plain Error (the caller names the item) for anything else. */
export function readRegularFile(path: string): Uint8Array {
  const why = notRegular(path);
  if (why) throw new Error(`${path} ${why}`);
  // O_NONBLOCK: a FIFO swapped in after the stat makes open return, and fstat below refuses it
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path} is ${kind(st)}, not a regular file`);
    const buf = new Uint8Array(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

const climbsOut = (rel: string) => rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);

/**
 * The real path of an item (links resolved), refused when it lies outside the real data folder `root`
 * (a link inside the folder to a file elsewhere). Throws a plain Error; the caller names the item.
 */
export function resolveInside(root: string, path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new Error(`file not found: ${path}`);
  }
  const realRoot = realpathSync(root);
  const rel = relative(realRoot, real);
  if (rel === '' || climbsOut(rel)) throw new Error(`${path} points outside the data folder (it resolves to ${real})`);
  return real;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The lines of a text file (1-based numbers), each checked to be valid UTF-8; a bad line is a DataError naming it. */
export function utf8Lines(file: string): { line: number; text: string }[] {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(file);
  } catch (e) {
    throw new DataError(`cannot read ${file}: ${(e as Error).message}`, 'pass a regular text file');
  }
  const out: { line: number; text: string }[] = [];
  let start = 0;
  for (let n = 1; start <= bytes.length; n++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(start, end));
    } catch {
      throw new DataError(`${file}:${n}: not valid UTF-8`, 'save the file as UTF-8 (labels and text must be UTF-8 text)', 'E_DATA_ENCODING');
    }
    out.push({ line: n, text: text.endsWith('\r') ? text.slice(0, -1) : text });
    start = end + 1;
  }
  return out;
}
