// `edgefit data make <builtin> --out <dir> --n N --seed S`: writes a built-in dataset as an image folder
// (class subfolders, or labels.jsonl for OCR) with a task.json beside it.

import { UsageError } from '../onnx/errors.js';
import { makeDataset } from '../data/make.js';
import { builtinTasks } from '../data/task.js';
import { parseOptions } from './eval.js';
import type { Command, CommandContext } from './command.js';

/** The line simulator writes an events file, not an image folder (docs/monitor.md). */
async function makeLine(ctx: CommandContext, out: string): Promise<number> {
  const { writeLineStream } = await import('../data/generators/line.js');
  const o = parseOptions(ctx.flags.option as string[] | undefined);
  const faults = o.faults ?? 'all';
  const kinds = ['all', 'none', 'creep', 'bad-batch', 'lighting'] as const;
  if (!kinds.includes(faults as (typeof kinds)[number])) throw new UsageError(`--option faults must be one of ${kinds.join(', ')}; got '${faults}'`);
  const hours = Number(o.hours ?? 24);
  if (!(hours > 0)) throw new UsageError(`--option hours must be a positive number, got '${o.hours}'`);
  const r = writeLineStream(out, { seed: ctx.flags.seed as number, hours, faults: faults as (typeof kinds)[number] });
  if (ctx.flags.json) ctx.stdout.write(JSON.stringify({ out, events: r.events, faults: r.faultsFile, truth: r.truth }, null, 2) + '\n');
  else
    ctx.stdout.write(
      `wrote ${r.events} events to ${out} and the injected faults to ${r.faultsFile}:\n${r.truth.faults.map((f) => `  ${f.kind} ${JSON.stringify(f.slice)} from ${new Date(f.start_ts).toISOString()}: ${f.description}`).join('\n') || '  none (fault-free stream)'}\n`,
    );
  return 0;
}

export const dataCommand: Command = {
  name: 'data',
  summary: 'make the built-in datasets (serials, serials-rotated, parts, mnist) as image folders',
  args: [
    { name: 'action', description: "'make'" },
    { name: 'builtin', description: `the dataset: ${builtinTasks().join(', ')}, or 'line' (a simulated inspection event stream for 'edgefit monitor')` },
  ],
  flags: [
    { name: 'out', short: 'o', type: 'string', placeholder: 'dir', description: 'the folder to write (must be new or empty)' },
    { name: 'n', short: 'n', type: 'integer', placeholder: 'N', default: 100, description: 'number of items' },
    { name: 'seed', type: 'integer', placeholder: 'S', default: 0, description: 'seed: the same seed gives the same images' },
    { name: 'option', type: 'string[]', placeholder: 'key=value', description: 'generator option, e.g. defectRate=0.05 (parts), difficulty=2 (serials)' },
    { name: 'json', type: 'boolean', description: 'print what was written as JSON' },
  ],
  details:
    'Examples:\n  edgefit data make serials --out serials-200 --n 200 --seed 1\n  edgefit data make parts --out parts --n 1000 --option defectRate=0.05\n  edgefit data make line --out events.jsonl --seed 3 [--option hours=24] [--option faults=none|creep|bad-batch|lighting]   (--n is not used)\nThen: edgefit eval model.onnx --task serials-200/task.json',
  async run(ctx: CommandContext): Promise<number> {
    const [action, builtin] = ctx.args as [string, string];
    if (action !== 'make') throw new UsageError(`unknown action '${action}' for 'edgefit data'`, "use 'edgefit data make <builtin> --out <dir>'");
    const out = ctx.flags.out as string | undefined;
    if (!out) throw new UsageError("'edgefit data make' needs --out <dir>");
    if (builtin === 'line') return makeLine(ctx, out);
    const n = ctx.flags.n as number;
    if (n < 1) throw new UsageError(`--n must be at least 1, got ${n}`);
    const r = await makeDataset(builtin, { out, n, seed: ctx.flags.seed as number, options: parseOptions(ctx.flags.option as string[] | undefined) });
    if (ctx.flags.json) ctx.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else
      ctx.stdout.write(
        `wrote ${r.items} items to ${r.out} (${r.layout}): ${Object.entries(r.counts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}\n`,
      );
    return 0;
  },
};
