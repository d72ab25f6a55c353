// `monitor ingest`: reads an events file into the store in one transaction. Bad lines are either all
// reported and nothing is stored (refuse), or listed and left out (skip); a file is never half-stored.
// A rerun of the same file (after a crash, say) adds nothing twice: ids come from the lines.

import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { EdgefitError } from '../onnx/errors.js';
import { Staging } from './append-events.js';
import { withDb, type OpenOptions } from './db.js';
import { parseEvent } from './parse-event.js';
import { readRecords } from './read-records.js';

export type OnBadLine = 'skip' | 'refuse';

export interface IngestOptions extends OpenOptions {
  onBadLine?: OnBadLine;
  format?: 'jsonl' | 'csv';
}

export interface BadLine {
  line: number;
  reason: string;
}

export interface IngestResult {
  file: string;
  db: string;
  read: number;
  inserted: number;
  duplicates: number;
  tooOld: number;
  badLines: BadLine[];
}

export function formatOf(path: string): 'jsonl' | 'csv' {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new EdgefitError(`cannot tell the format of ${path} from its extension`, 'E_USAGE', 'name the file .jsonl or .csv, or pass --format jsonl|csv');
}

export async function ingestFile(file: string, dbPath: string, o: IngestOptions = {}): Promise<IngestResult> {
  if (!existsSync(file) || !statSync(file).isFile())
    throw new EdgefitError(`no events file at ${file}`, 'E_MONITOR_DATA', 'pass a .jsonl or .csv file of events');
  const format = o.format ?? formatOf(file);
  const policy = o.onBadLine ?? 'refuse';
  return withDb(
    dbPath,
    async (db) => {
      const staging = await Staging.create(db.conn);
      const badLines: BadLine[] = [];
      try {
        for await (const r of readRecords(file, format)) {
          if ('error' in r) {
            badLines.push({ line: r.lineNo, reason: r.error });
            continue;
          }
          try {
            staging.add(parseEvent(r.rec, r.bytes, r.lineNo, format === 'csv'));
          } catch (e) {
            badLines.push({ line: r.lineNo, reason: (e as Error).message });
          }
        }
      } catch (e) {
        await staging.discard();
        throw e;
      }
      if (badLines.length && policy === 'refuse') {
        await staging.discard();
        const shown = badLines.slice(0, 10).map((b) => `line ${b.line}: ${b.reason}`);
        if (badLines.length > 10) shown.push(`… and ${badLines.length - 10} more`);
        throw new EdgefitError(
          `${file}: ${badLines.length} bad line${badLines.length > 1 ? 's' : ''}; nothing was ingested\n  ${shown.join('\n  ')}`,
          'E_MONITOR_DATA',
          'fix those lines, or pass --on-bad-line skip to ingest the others and list the bad ones',
        );
      }
      const read = staging.rows;
      const c = await staging.commit();
      return { file, db: db.path, read, ...c, badLines };
    },
    o,
  );
}
