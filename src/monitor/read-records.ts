// Streams an events file as records with their line numbers: JSONL (one object a line) or CSV (a
// header line, then one row a line; quoted cells may hold commas and doubled quotes, not newlines).
// Bytes are checked as UTF-8 line by line, so a bad byte is reported on its own line.

import { createReadStream } from 'node:fs';

export type RecordOrError = { lineNo: number; bytes: Uint8Array; rec: Record<string, unknown> } | { lineNo: number; error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The lines of a file as byte arrays (without the newline or a trailing CR), numbered from 1. */
export async function* readLines(path: string): AsyncGenerator<{ lineNo: number; bytes: Uint8Array }> {
  let carry: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let i = buf.indexOf(10, start); i >= 0; i = buf.indexOf(10, start)) {
      const end = i > start && buf[i - 1] === 13 ? i - 1 : i;
      yield { lineNo: ++lineNo, bytes: buf.subarray(start, end) };
      start = i + 1;
    }
    carry = Buffer.from(buf.subarray(start));
  }
  if (carry.length) yield { lineNo: ++lineNo, bytes: carry[carry.length - 1] === 13 ? carry.subarray(0, -1) : carry };
}

/** Splits one CSV row into cells; returns an error message for an unterminated quote. */
export function splitCsv(line: string): string[] | string {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let cell = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return 'a quoted cell is not closed';
        cell += line.slice(i, q);
        if (line[q + 1] === '"') {
          cell += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== ',') return `text after a closing quote at column ${i + 1}`;
    } else {
      const c = line.indexOf(',', i);
      cell = c < 0 ? line.slice(i) : line.slice(i, c);
      i = c < 0 ? line.length : c;
    }
    cells.push(cell);
    if (i >= line.length) return cells;
    i++; // past the comma
  }
}

function decode(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Records of a JSONL or CSV file; blank lines are skipped; each problem is tied to its line. */
export async function* readRecords(path: string, format: 'jsonl' | 'csv'): AsyncGenerator<RecordOrError> {
  let header: string[] | undefined;
  for await (const { lineNo, bytes } of readLines(path)) {
    const text = decode(bytes);
    if (text === undefined) {
      yield { lineNo, error: 'invalid UTF-8' };
      continue;
    }
    if (text.trim() === '') continue;
    if (format === 'jsonl') {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        yield { lineNo, error: `not JSON: ${(e as Error).message}` };
        continue;
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) yield { lineNo, error: 'not a JSON object' };
      else yield { lineNo, bytes, rec: v as Record<string, unknown> };
      continue;
    }
    const cells = splitCsv(text);
    if (typeof cells === 'string') {
      yield { lineNo, error: `bad CSV: ${cells}` };
      continue;
    }
    if (!header) {
      header = cells.map((c) => c.trim());
      continue;
    }
    if (cells.length !== header.length) {
      yield { lineNo, error: `${cells.length} cells, but the header has ${header.length}` };
      continue;
    }
    const rec: Record<string, unknown> = {};
    for (const [k, h] of header.entries()) rec[h] = cells[k];
    yield { lineNo, bytes, rec };
  }
}
