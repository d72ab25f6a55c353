// The fingerprint of the edgefit code that builds and measures: edgefit's version and a hash of every
// module under its code folder (dist/ when installed, src/ under tsx), tests left out. It is part of the
// stage cache's key and of the run key, so a run directory reused after an upgrade (or any change to a
// pass) builds and measures again instead of handing on what older code built.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const CODE = /\.(js|ts|mjs)$/;
const NOT_CODE = /(\.test\.|\.d\.ts$|\.map$|test-fixtures|test-world)/;

/** Every code file under `root`, relative paths with '/', sorted (the order must not depend on the OS). */
export function codeFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && CODE.test(e.name) && !NOT_CODE.test(e.name)) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(root);
  return out.sort();
}

/** sha256 over `version`, then each code file's path and bytes, in codeFiles' order. */
export function fingerprintTree(root: string, version: string): string {
  const h = createHash('sha256').update(`edgefit ${version}\n`);
  for (const f of codeFiles(root)) {
    const bytes = readFileSync(join(root, f));
    h.update(`${f}\n${bytes.length}\n`).update(bytes);
  }
  return h.digest('hex');
}

/** The package's version, from the package.json above the code folder. */
function packageVersion(root: string): string {
  try {
    return String((JSON.parse(readFileSync(join(root, '..', 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

let cached: { version: string; sha256: string } | undefined;

/** This edgefit's version and code hash (computed once per process, about 20 ms). */
export function codeFingerprint(): { version: string; sha256: string } {
  if (cached) return cached;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const version = packageVersion(root);
  cached = { version, sha256: fingerprintTree(root, version) };
  return cached;
}
