// `edgefit bench <model>`: measures latency distribution, cold start, peak memory and size of a model
// in a fresh child process, on synthesised inputs. Thin: parse, call benchIsolated, print.

import { EdgefitError, UsageError } from '../onnx/errors.js';
import { benchErrorJson, benchJson } from '../bench/bench-json.js';
import { BenchError, benchIsolated, type BenchResult, type IsolatedOptions } from '../bench/isolated.js';
import { DEFAULT_DURATION_MS, DEFAULT_WARMUP, DEFAULT_WARMUP_MS } from '../bench/latency.js';
import { machineLine } from '../bench/machine.js';
import { progressBar } from '../bench/progress.js';
import { DEFAULT_MAX_ELEMENTS, parseDimFlags, parseShapeFlags, parseValueFlags } from '../runtime/inputs.js';
import { OPT_LEVELS, type OptLevel } from '../runtime/session.js';
import { readModel } from '../onnx/read-model.js';
import type { Command, CommandContext } from './command.js';
import { LIMIT_FLAGS, limitsFromFlags } from './inspect.js';

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure the latency distribution, cold start and memory of a model',
  args: [{ name: 'model', description: 'the .onnx file to measure' }],
  flags: [
    { name: 'threads', short: 't', type: 'integer', placeholder: 'n', default: 1, description: 'ORT intra-op threads (spinning stays off)' },
    {
      name: 'batch',
      short: 'b',
      type: 'integer',
      placeholder: 'n',
      description: 'value of batch dims: symbolic dims named like batch/N, else a symbolic first dim (default 1)',
    },
    { name: 'shape', type: 'string[]', placeholder: 'name=d1,d2,…', description: 'full shape of one input; repeat the flag for more inputs' },
    {
      name: 'value',
      type: 'string[]',
      placeholder: 'name=v',
      description: 'a fixed value for an input, broadcast to its shape (e.g. --value sr=16000 --value state=0); integer inputs other than ids/masks need one',
    },
    { name: 'dim', type: 'string[]', placeholder: 'name=n,…', description: 'value of a symbolic dim by the name the model gives it, e.g. --dim sequence=128' },
    { name: 'warmup', type: 'integer', placeholder: 'n', default: DEFAULT_WARMUP, description: 'untimed runs before measuring' },
    {
      name: 'warmup-ms',
      type: 'integer',
      placeholder: 'ms',
      default: DEFAULT_WARMUP_MS,
      description: 'the untimed runs go on until this long has passed too: a fresh process runs its first few hundred ms slower (0: --warmup runs only)',
    },
    { name: 'iterations', short: 'n', type: 'integer', placeholder: 'n', description: 'timed runs (instead of --duration)' },
    {
      name: 'duration',
      short: 'd',
      type: 'number',
      placeholder: 'seconds',
      description: `measure for this long (default ${DEFAULT_DURATION_MS / 1000} s, and at least 5 runs)`,
    },
    {
      name: 'opt-level',
      type: 'string',
      values: OPT_LEVELS,
      placeholder: 'level',
      default: 'all',
      description: `ORT graph optimization level: ${OPT_LEVELS.join(', ')}`,
    },
    {
      name: 'providers',
      type: 'string[]',
      placeholder: 'cpu,…',
      default: ['cpu'],
      description: 'execution providers, tried in order; all failures are reported together',
    },
    { name: 'disable-optimizer', type: 'string[]', placeholder: 'name,…', description: 'ORT optimizers to switch off, e.g. MatMulAddFusion' },
    { name: 'save-optimized', type: 'string', placeholder: 'file.onnx', description: "also write ORT's optimized graph to this file" },
    {
      name: 'max-elements',
      type: 'integer',
      placeholder: 'n',
      default: DEFAULT_MAX_ELEMENTS,
      description: 'refuse an input with more elements than this (guards against typos in --batch/--shape)',
    },
    ...LIMIT_FLAGS,
    { name: 'seed', type: 'integer', placeholder: 'n', default: 0, description: 'seed of the random inputs' },
    { name: 'timeout', type: 'number', placeholder: 'seconds', description: 'stop the measurement after this long (default: duration + 300 s, or 600 s)' },
    { name: 'samples', type: 'boolean', description: 'with --json: include every measured latency' },
    { name: 'json', type: 'boolean', description: 'print the result as JSON (schema in docs/bench-json.md) on stdout' },
  ],
  details: `The measurement runs in a fresh child process: cold start (session creation plus the first run)
and peak RSS describe that process. Inputs are seeded random data shaped by the model's declared inputs;
a symbolic dim that --batch does not set needs --shape, e.g.

  edgefit bench ch_PP-OCRv4_rec_infer.onnx --shape x=1,3,48,320 --duration 5
  edgefit bench model.onnx --batch 8 --iterations 200 --json`,
  run,
};

function flagInt(ctx: CommandContext, name: string, min: number): number | undefined {
  const v = ctx.flags[name] as number | undefined;
  if (v !== undefined && v < min)
    throw new UsageError(`--${name} must be ${min === 0 ? 'zero or more' : `at least ${min}`}, got ${v}`, `see 'edgefit bench --help'`);
  return v;
}

export function optionsFromFlags(ctx: CommandContext): IsolatedOptions {
  const iterations = flagInt(ctx, 'iterations', 1);
  const duration = ctx.flags.duration as number | undefined;
  if (iterations !== undefined && duration !== undefined)
    throw new UsageError(
      '--iterations and --duration cannot be used together',
      'use --iterations N for a fixed count of runs, or --duration S to measure for S seconds',
    );
  if (duration !== undefined && !(duration > 0)) throw new UsageError(`--duration must be a positive number of seconds, got ${duration}`);
  const timeout = ctx.flags.timeout as number | undefined;
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got ${timeout}`);
  const threads = flagInt(ctx, 'threads', 1);
  if (threads !== undefined && threads > 256)
    throw new UsageError(`--threads ${threads} is more than any machine this runs on`, 'use at most the number of cores');
  return {
    threads,
    batch: flagInt(ctx, 'batch', 1),
    shapes: parseShapeFlags((ctx.flags.shape as string[] | undefined) ?? []),
    dims: parseDimFlags((ctx.flags.dim as string[] | undefined) ?? []),
    values: parseValueFlags(ctx.flags.value as string[] | undefined),
    maxElements: flagInt(ctx, 'max-elements', 1),
    warmup: flagInt(ctx, 'warmup', 0),
    warmupMs: flagInt(ctx, 'warmup-ms', 0),
    iterations,
    durationMs: duration !== undefined ? duration * 1000 : undefined,
    graphOptimizationLevel: ctx.flags['opt-level'] as OptLevel,
    providers: ctx.flags.providers as string[],
    disabledOptimizers: (ctx.flags['disable-optimizer'] as string[] | undefined) ?? [],
    seed: ctx.flags.seed as number,
    timeoutMs: timeout !== undefined ? timeout * 1000 : undefined,
    optimizedModelPath: ctx.flags['save-optimized'] as string | undefined,
  };
}

async function run(ctx: CommandContext): Promise<number> {
  const modelPath = ctx.args[0]!;
  const opts = optionsFromFlags(ctx);
  // Refuse a broken or hostile file here, with the reader's limits and messages, before ORT sees it.
  try {
    readModel(modelPath, { limits: limitsFromFlags(ctx), externalData: 'check' });
  } catch (e) {
    if (ctx.flags.json && e instanceof EdgefitError && !(e instanceof UsageError))
      ctx.stdout.write(JSON.stringify(benchErrorJson(modelPath, { kind: 'error', code: e.code, message: e.message, hint: e.hint }), null, 2) + '\n');
    throw e;
  }
  const bar = progressBar(ctx.stderr, 'bench');
  const r = await benchIsolated(modelPath, { ...opts, onProgress: (p) => bar.update(p) });
  bar.done();
  if (!r.ok) {
    if (ctx.flags.json) ctx.stdout.write(JSON.stringify(benchErrorJson(modelPath, r.error), null, 2) + '\n');
    // A bad --shape or --batch is found in the child, which sees the model's inputs; it is still a usage error.
    if (r.error.code === 'E_USAGE') throw new UsageError(r.error.message, r.error.hint);
    throw new BenchError(r.error);
  }
  if (ctx.flags.json) ctx.stdout.write(JSON.stringify(benchJson(r, { samples: ctx.flags.samples === true }), null, 2) + '\n');
  else ctx.stdout.write(formatBench(r));
  return 0;
}

const ms = (v: number) => (v >= 100 ? v.toFixed(1) : v >= 10 ? v.toFixed(2) : v.toFixed(3));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

/** The human table. */
export function formatBench(r: BenchResult): string {
  const l = r.latency;
  const failed = r.providerFailures.map((f) => `${f.provider} failed: ${f.reason}`).join('; ');
  const runs =
    r.settings.iterations !== null ? `${l.warmup} warm-up + ${l.count} timed` : `${l.warmup} warm-up + ${l.count} timed in ${(l.totalMs / 1000).toFixed(1)} s`;
  const cols = ['min', 'p50', 'p90', 'p95', 'p99', 'max', 'mean', 'stdev'] as const;
  const lines = [
    `model        ${r.model.path}`,
    `size         ${mib(r.model.totalBytes)} (${r.model.fileBytes} bytes${r.model.externalBytes ? ` + ${r.model.externalBytes} external` : ''})`,
    `inputs       ${r.inputs.map((i) => `${i.name} ${i.type}[${i.shape.join(',')}]`).join(', ')}`,
    `session      ${r.provider}${failed ? ` (${failed})` : ''}, ${r.settings.threads} thread${r.settings.threads === 1 ? '' : 's'}, opt-level ${r.settings.graphOptimizationLevel}${r.settings.disabledOptimizers.length ? `, without ${r.settings.disabledOptimizers.join(',')}` : ''}`,
    `machine      ${machineLine(r.machine)}`,
    `runs         ${runs}`,
    '',
    `latency ms   ${cols.map((c) => c.padStart(9)).join('')}`,
    `             ${cols.map((c) => ms(l[c]).padStart(9)).join('')}`,
    '',
    `throughput   ${l.throughput.toFixed(1)} runs/s`,
    `cold start   ${ms(r.coldStartMs)} ms (session ${ms(r.sessionCreateMs)} ms + first run ${ms(r.firstRunMs)} ms; loading ORT ${ms(r.ortLoadMs)} ms more)`,
    `peak RSS     ${mib(r.peakRssBytes)} (${mib(r.baselineRssBytes)} with ORT loaded and no model)`,
  ];
  return lines.join('\n') + '\n';
}
