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
    const lines = [
      `ingested ${file} into ${r.db}: ${r.read} events read, ${r.inserted} new, ${r.duplicates} already stored${r.tooOld ? `, ${r.tooOld} older than the compaction watermark (not added)` : ''}`,
    ];
    if (r.badLines.length)
      lines.push(
        `skipped ${r.badLines.length} bad line${r.badLines.length > 1 ? 's' : ''}:`,
        ...r.badLines.slice(0, 20).map((b) => `  line ${b.line}: ${b.reason}`),
      );
    if (r.badLines.length > 20) lines.push(`  … and ${r.badLines.length - 20} more (--json lists all)`);
    ctx.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}

async function analysisFrom(ctx: CommandContext, db: string) {
  const { analyze } = await import('../monitor/analyze.js');
  const { parseTimeArg } = await import('../monitor/time-arg.js');
  const now = Date.now();
  const since = parseTimeArg('since', ctx.flags.since as string | undefined, now);
  const until = parseTimeArg('until', ctx.flags.until as string | undefined, now);
  if (since !== undefined && until !== undefined && until <= since)
    throw new UsageError(`--until (${new Date(until).toISOString()}) must be after --since (${new Date(since).toISOString()})`);
  const ref = parseTimeArg('reference-until', ctx.flags['reference-until'] as string | undefined, now);
  const bucket = ctx.flags.bucket as number;
  if (!(bucket > 0)) throw new UsageError(`--bucket must be a positive number of minutes, got ${bucket}`);
  const far = ctx.flags['false-alarm-rate'] as number;
  if (!(far > 0 && far < 1)) throw new UsageError(`--false-alarm-rate must be between 0 and 1, got ${far}`);
  return analyze(db, {
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(ref !== undefined ? { referenceUntil: ref } : {}),
    bucketMs: bucket * 60_000,
    falseAlarmRate: far,
  });
}

async function alerts(ctx: CommandContext, db: string): Promise<number> {
  const a = await analysisFrom(ctx, db);
  if (ctx.flags.json) {
    const out = {
      schema: a.schema,
      db: a.db,
      range: a.range,
      bucket_ms: a.bucketMs,
      reference_until: a.referenceUntil,
      rule_set: a.ruleSet,
      alerts: a.alerts,
      performance: a.performance,
    };
    ctx.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return 0;
  }
  const iso = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  const primary = a.alerts.filter((x) => !x.explained_by);
  const lines = [
    `${a.range.events} events from ${iso(a.range.min)} to ${iso(a.range.max)}; reference until ${iso(a.referenceUntil)}; ${a.bucketMs / 60_000}-minute subgroups`,
    `run rules ${a.ruleSet.rules.join('+')}: in-control false alarms ${(a.ruleSet.falseAlarmRate * 100).toFixed(2)}% per chart point (ARL ${a.ruleSet.arl.toFixed(0)}); EWMA λ=0.2 L=3 (ARL ≈ 560), CUSUM k=0.5 h=5 (ARL ≈ 465)`,
    '',
    ...(primary.length ? primary.map((x) => `${x.kind.padEnd(12)} ${x.message}`) : ['no alerts']),
  ];
  const explained = a.alerts.length - primary.length;
  if (explained)
    lines.push('', `${explained} more chart alarm${explained > 1 ? 's are' : ' is'} explained by the slices above (--json lists them with explained_by)`);
  ctx.stdout.write(lines.join('\n') + '\n');
  return 0;
}

async function report(ctx: CommandContext, db: string): Promise<number> {
  const out = ctx.flags.output as string | undefined;
  if (!out) throw new UsageError("'edgefit monitor report' needs -o <monitor.html>");
  const a = await analysisFrom(ctx, db);
  const { renderMonitorHtml } = await import('../monitor/render-html.js');
  const { writeFileAtomic } = await import('../onnx/write-model.js');
  writeFileAtomic(out, renderMonitorHtml(a));
  ctx.stdout.write(
    `wrote ${out}: ${a.charts.filter((c) => c.dim === 'machine').length} machines, ${a.charts.filter((c) => c.dim === 'batch').length} batches, ${a.alerts.filter((x) => !x.explained_by).length} alerts\n`,
  );
  return 0;
}

async function compact(ctx: CommandContext, db: string): Promise<number> {
  const days = ctx.flags['retain-days'] as number;
  if (!(days > 0)) throw new UsageError(`--retain-days must be positive, got ${days}`);
  const { compactStore } = await import('../monitor/compact.js');
  const r = await compactStore(db, { retainMs: days * 86_400_000 });
  if (ctx.flags.json) ctx.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else
    ctx.stdout.write(
      `summarised ${r.summarised} raw events older than ${new Date(r.cutoff).toISOString()} into ${r.hourlyRows} hourly rows; ${r.remaining} raw events remain; file ${r.bytesBefore} → ${r.bytesAfter} bytes\n`,
    );
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
    {
      name: 'on-bad-line',
      type: 'string',
      values: ['refuse', 'skip'],
      default: 'refuse',
      description: 'ingest: refuse the whole file if a line is bad, or skip bad lines and list them',
    },
    { name: 'format', type: 'string', values: ['jsonl', 'csv'], description: 'ingest: the file format when its extension does not say' },
    {
      name: 'since',
      type: 'string',
      placeholder: 'time',
      description: 'alerts/report: only events from this time: ISO-8601, epoch ms, or a time ago (30m, 2h, 3d, 1w)',
    },
    { name: 'until', type: 'string', placeholder: 'time', description: 'alerts/report: only events before this time (same forms as --since)' },
    {
      name: 'reference-until',
      type: 'string',
      placeholder: 'time',
      description: 'alerts/report: the reference window ends here (default: the first quarter of the time range)',
    },
    { name: 'bucket', type: 'number', placeholder: 'minutes', default: 30, description: 'alerts/report: subgroup width for the charts' },
    {
      name: 'false-alarm-rate',
      type: 'number',
      placeholder: 'rate',
      default: 0.0027,
      description:
        'alerts/report: in-control false alarms per chart point the run rules may have; the most sensitive Western Electric rule set within it is used',
    },
    { name: 'output', short: 'o', type: 'string', placeholder: 'file.html', description: 'report: where to write the dashboard' },
    {
      name: 'retain-days',
      type: 'number',
      placeholder: 'days',
      default: 30,
      description: 'compact: keep raw events this many days; older ones become hourly summaries',
    },
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
      case 'alerts':
        return alerts(ctx, db);
      case 'report':
        return report(ctx, db);
      case 'compact':
        return compact(ctx, db);
      default:
        throw new UsageError(`unknown action '${action}' for 'edgefit monitor'`, "use 'edgefit monitor ingest|alerts|report|compact'");
    }
  },
};
