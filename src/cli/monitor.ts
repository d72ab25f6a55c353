// `edgefit monitor ingest|alerts|report|compact`: the event store and what it shows. Thin: parse the
// flags, call src/monitor, print.

import { UsageError } from '../onnx/errors.js';
import type { Command, CommandContext } from './command.js';

const DEFAULT_DB = 'monitor.duckdb';

async function ingest(ctx: CommandContext, file: string | undefined, db: string): Promise<number> {
  if (!file) throw new UsageError("'edgefit monitor ingest' needs an events file", 'e.g. edgefit monitor ingest events.jsonl --db line.duckdb');
  const { ingestFile } = await import('../monitor/ingest.js');
  const fmt = ctx.flags.format as 'jsonl' | 'csv' | undefined;
  const r = await ingestFile(file, db, { onBadLine: ctx.flags['on-bad-line'] as 'skip' | 'refuse', ...(fmt ? { format: fmt } : {}) });
  if (ctx.flags.json) ctx.stdout.write(JSON.stringify({ schema: 'edgefit.monitor.ingest/1', ...r }, null, 2) + '\n');
  else {
    const lines = [`ingested ${file} into ${r.db}: ${r.read} events read, ${r.inserted} new, ${r.duplicates} already stored${r.tooOld ? `, ${r.tooOld} older than the compaction watermark (not added)` : ''}`];
    if (r.badLines.length) lines.push(`skipped ${r.badLines.length} bad line${r.badLines.length > 1 ? 's' : ''}:`, ...r.badLines.slice(0, 20).map((b) => `  line ${b.line}: ${b.reason}`));
    if (r.badLines.length > 20) lines.push(`  … and ${r.badLines.length - 20} more (--json lists all)`);
    ctx.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}

export const monitorCommand: Command = {
  name: 'monitor',
  summary: 'record inspections in an event store; SPC and drift alerts per machine, batch and line; a dashboard',
  args: [
    { name: 'action', description: "'ingest', 'alerts', 'report' or 'compact'" },
    { name: 'file', description: 'ingest: the events file (.jsonl or .csv)', optional: true },
  ],
  flags: [
    { name: 'db', type: 'string', placeholder: 'path', default: DEFAULT_DB, description: 'the DuckDB event store file' },
    { name: 'on-bad-line', type: 'string', values: ['refuse', 'skip'], default: 'refuse', description: 'ingest: refuse the whole file if a line is bad, or skip bad lines and list them' },
    { name: 'format', type: 'string', values: ['jsonl', 'csv'], description: 'ingest: the file format when its extension does not say' },
    { name: 'json', type: 'boolean', description: 'print the result as JSON on stdout (docs/monitor.md)' },
  ],
  details: `Examples:
  edgefit data make line --out events.jsonl --seed 1
  edgefit monitor ingest events.jsonl --db line.duckdb
  edgefit monitor alerts --db line.duckdb
  edgefit monitor report --db line.duckdb -o monitor.html
See docs/monitor.md for the event fields, the alert JSON and how the statistics are chosen.`,
  async run(ctx) {
    const [action, file] = ctx.args as [string, string | undefined];
    const db = ctx.flags.db as string;
    switch (action) {
      case 'ingest':
        return ingest(ctx, file, db);
      default:
        throw new UsageError(`unknown action '${action}' for 'edgefit monitor'`, "use 'edgefit monitor ingest|alerts|report|compact'");
    }
  },
};
