// `edgefit quantize`: one quantization pass on a model, then the guard (speed against the input, same
// machine, same run) and the change in quality (agreement with the input on held-out data). A slower
// result is written and reported as SLOWER, never as an improvement.

import { existsSync, statSync } from 'node:fs';
import type * as ort from 'onnxruntime-node';
import { resolve } from 'node:path';
import { calibrationFeeds, loadTask, type Task } from '../data/task.js';
import { evaluate } from '../eval/evaluate.js';
import { createSession, MAX_THREADS } from '../runtime/session.js';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import type { Model } from '../onnx/model.js';
import { readModel } from '../onnx/read-model.js';
import { checkOutputPath, serializeModel, writeModel } from '../onnx/write-model.js';
import { validateParams } from '../passes/params.js';
import type { Feeds, PassContext, PassRecord, ParamValues } from '../passes/pass.js';
import { mixedPrecision, pick, QualityProbe, type SensitivityRow } from '../passes/quant/sensitivity.js';
import { findPass } from '../passes/registry.js';
import { quantizeStatic, SCOPES, type Scope, type StaticQuantResult } from '../passes/quantize-static.js';
import { checkShapes, declaredInputs, filledTensor, parseShapeFlags, parseValueFlags, planFills, resolveInputs, synthesizeFeeds } from '../runtime/inputs.js';
import { openUserData } from '../data/user-data.js';
import { fitTaskToModel, modelIO } from '../data/fit-task.js';
import { toOrtFeeds } from '../passes/quant/calibrate.js';
import { agreementWith } from '../search/quality.js';
import { guardSpeed, type GuardOptions, type GuardResult } from '../search/guard.js';
import type { Command, CommandContext } from './command.js';

const MODES = { dynamic: 'quantize-dynamic', static: 'quantize-static', int4: 'quantize-int4', fp16: 'fp16' } as const;
type Mode = keyof typeof MODES;

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a model (int8 dynamic or static, int4, fp16), then measure it against the input',
  args: [{ name: 'in', description: 'the ONNX model to quantize' }],
  flags: [
    { name: 'output', short: 'o', type: 'string', description: 'where to write the quantized model', placeholder: 'out.onnx' },
    {
      name: 'mode',
      type: 'string',
      values: [...Object.keys(MODES), 'qat'],
      default: 'dynamic',
      description:
        'dynamic: int8 weights, activations at run time; static: calibrated int8 QDQ; int4: weight-only MatMulNBits; fp16; qat: static int8, then quantization-aware training on the --calibration task (as `edgefit qat`)',
    },
    {
      name: 'calibration',
      type: 'string',
      description: "calibration data: a built-in task (serials, mnist, …), a task spec .json, or 'random' for synthetic inputs",
      placeholder: 'task|spec.json|random',
    },
    {
      name: 'data',
      type: 'string',
      description:
        "without --calibration: your own samples, one .npy (leading axis = samples) or a folder with <input name>.npy per input, split seeded into calibration and held-out evaluation; with --calibration <task>: files that replace the task's own",
      placeholder: 'file.npy|dir',
    },
    {
      name: 'value',
      type: 'string[]',
      description: 'a fixed value for an input, broadcast to its shape (e.g. --value sr=16000 --value state=0); integer inputs other than ids/masks need one',
      placeholder: 'name=v',
    },
    {
      name: 'reference',
      type: 'string',
      description: 'the model the quality is measured against (default: the input model), e.g. the fp32 original of an already modified model',
      placeholder: 'model.onnx',
    },
    { name: 'seed', type: 'integer', default: 0, description: 'seed of the calibration / held-out split of --data', placeholder: 'n' },
    {
      name: 'method',
      type: 'string',
      values: ['minmax', 'percentile', 'entropy'],
      description: 'static: how calibration picks activation ranges (default minmax); for int4 see --int4-method',
    },
    {
      name: 'int4-method',
      type: 'string',
      values: ['rtn', 'gptq', 'hqq'],
      description:
        'int4: how weights are rounded: rtn (round to nearest), gptq (error feedback from calibration activations; needs --calibration), hqq (data-free zero-point optimization) (default rtn)',
    },
    {
      name: 'scope',
      type: 'string',
      values: ['all', 'compute', 'pointwise'],
      description:
        'static: which nodes go int8: all (compute + neighbouring ops), compute (Conv/MatMul/Gemm), pointwise (1x1 convs, MatMul, Gemm: best on MobileNet-style nets) (default all)',
    },
    { name: 'samples', type: 'integer', default: 128, description: 'calibration samples (static, int4 gptq)', placeholder: 'n' },
    { name: 'eval-samples', type: 'integer', default: 64, description: 'held-out samples for the change in quality', placeholder: 'n' },
    { name: 'per-channel', type: 'boolean', description: 'one weight scale per output channel (default on; --no-per-channel for per tensor)' },
    { name: 'exclude', type: 'string[]', description: 'node names or op types to keep in float (comma-separated, repeatable)', placeholder: 'names' },
    {
      name: 'quality-floor',
      type: 'number',
      description:
        'static: keep the most sensitive nodes float until agreement with the input (top-1 for class scores, else cosine) is at least this, e.g. 0.99',
      placeholder: '0..1',
    },
    { name: 'param', type: 'string[]', description: 'extra pass parameters as key=value (e.g. blockSize=64)', placeholder: 'k=v' },
    {
      name: 'shape',
      type: 'string[]',
      description: 'input shapes for random data and timing, for inputs with dynamic dims (e.g. x=1,3,48,320)',
      placeholder: 'name=d,d,…',
    },
    {
      name: 'batch',
      type: 'integer',
      description: 'batch size for the speed comparison and for random calibration (default 1, or the batch in --shape)',
      placeholder: 'n',
    },
    { name: 'threads', type: 'integer', default: 1, description: 'intra-op threads for the speed comparison', placeholder: 'n' },
    { name: 'rounds', type: 'integer', default: 6, description: 'interleaved timing rounds of the speed comparison', placeholder: 'n' },
    {
      name: 'search',
      type: 'boolean',
      description: 'static: try each scope (all, compute, pointwise), time each against the input, keep the fastest that meets --quality-floor',
    },
    { name: 'json', type: 'boolean', description: 'print one JSON object on stdout (the verdict is in "verdict")' },
  ],
  details: `A result slower than the input is still written, and reported as "SLOWER than the input" (exit 0;
with --json, "verdict": "slower"). Ops the mode cannot quantize stay float and are listed.
Examples:
  edgefit quantize model.onnx -o model.int8.onnx --mode static --calibration serials --method entropy
  edgefit quantize model.onnx -o model.int8.onnx --mode static --calibration random --quality-floor 0.99
  edgefit quantize model.onnx -o model.int4.onnx --mode int4 --int4-method gptq --calibration random`,
  run,
};

/** --mode qat: the training needs a task, so it is `edgefit qat` with the flags that mean the same here. */
async function runQat(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  const task = f.calibration as string | undefined;
  if (!task || task === 'random')
    throw new UsageError(
      '--mode qat trains on a task: give --calibration <task|spec.json>',
      'e.g. edgefit quantize model.onnx --mode qat --calibration serials -o out.onnx',
    );
  for (const flag of ['method', 'quality-floor', 'search', 'int4-method', 'data', 'reference'] as const)
    if (f[flag] !== undefined) throw new UsageError(`--${flag} does not apply to --mode qat`, 'drop it; `edgefit qat --help` lists what QAT takes');
  const { qatCommand } = await import('./qat.js');
  // edgefit qat's own defaults, then what this command's flags mean there
  const defaults = Object.fromEntries(qatCommand.flags.filter((x) => x.default !== undefined).map((x) => [x.name, x.default]));
  const flags = {
    ...defaults,
    task,
    output: f.output,
    ...(f.scope !== undefined ? { scope: f.scope } : {}),
    ...(f.seed !== undefined ? { seed: f.seed } : {}),
    ...(f.threads !== undefined ? { threads: f.threads } : {}),
    ...(f.json ? { json: true } : {}),
  };
  return qatCommand.run({ ...ctx, flags });
}

async function run(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  const inPath = ctx.args[0]!;
  const out = f.output as string | undefined;
  if (!out) throw new UsageError("'edgefit quantize' needs -o <out.onnx>", 'name the file to write the quantized model to');
  if (f.mode === 'qat') return runQat(ctx);
  const mode = f.mode as Mode;
  const json = f.json === true;
  const log = (line: string) => (json ? undefined : ctx.log(line));
  const pass = findPass(MODES[mode]);
  if (!pass)
    throw new UsageError(
      `--mode ${mode} is not available in this build (no '${MODES[mode]}' pass registered)`,
      `available: ${Object.entries(MODES)
        .filter(([, p]) => findPass(p))
        .map(([m]) => m)
        .join(', ')}`,
    );
  // --method is calibration (static); int4's rounding algorithm has its own flag, so neither is
  // ever passed to the other's 'method' parameter.
  if (mode === 'int4' && f.method !== undefined)
    throw new UsageError(
      `--method ${String(f.method)} picks how static calibration sets activation ranges; it does not apply to --mode int4`,
      `pick the int4 algorithm with --int4-method rtn|gptq|hqq`,
    );
  if (mode !== 'static') {
    for (const flag of ['method', 'scope', 'quality-floor', 'search'] as const)
      if (f[flag] !== undefined) throw new UsageError(`--${flag} applies to --mode static only`, 'drop it, or use --mode static');
  }
  if (mode !== 'int4' && f['int4-method'] !== undefined)
    throw new UsageError(
      `--int4-method applies to --mode int4 only`,
      mode === 'static' ? 'for static calibration use --method minmax|percentile|entropy' : 'drop it, or use --mode int4',
    );
  const floor = f['quality-floor'] as number | undefined;
  if (floor !== undefined && !(floor > 0 && floor <= 1))
    throw new UsageError(
      `--quality-floor must be in (0, 1], got ${floor}`,
      'it is an agreement with the input model: 0.99 keeps 99% top-1 agreement (or cosine 0.99)',
    );
  // Everything that can be checked before the (long) work is checked now, not when it is done.
  const counts: [string, number, number][] = [
    ['samples', 1, 10_000_000],
    ['eval-samples', 1, 10_000_000],
    ['batch', 1, 1_000_000],
    ['threads', 1, MAX_THREADS],
    ['rounds', 1, 10_000],
  ];
  for (const [name, min, max] of counts) {
    const v = f[name] as number | undefined;
    if (v !== undefined && (v < min || v > max)) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${v}`, `see 'edgefit quantize --help'`);
  }
  if (f.data !== undefined && f.calibration === 'random')
    throw new UsageError('--data and --calibration random contradict each other', 'drop --calibration random: --data calibrates on your samples');
  if (f.data !== undefined && !existsSync(f.data as string))
    throw new UsageError(`--data ${String(f.data)} not found`, 'pass a .npy file or a folder of <input name>.npy');
  if (f.reference !== undefined && !existsSync(f.reference as string))
    throw new UsageError(`--reference ${String(f.reference)} not found`, 'pass the .onnx model to compare with');
  const values = parseValueFlags(f.value as string[] | undefined);
  if (!existsSync(inPath)) throw new UsageError(`no such model file: ${inPath}`, 'check the path');
  if (resolve(out) === resolve(inPath))
    throw new UsageError(
      `-o ${out} is the input model: writing there would replace the model the result is compared against`,
      'write the quantized model to a new file',
    );
  checkOutputPath(resolve(out));
  const model = readModel(inPath);
  if (f.shape) checkShapes(declaredInputs(model), parseShapeFlags(f.shape as string[]));
  // a misspelt --exclude would otherwise quantize the very node it was meant to keep float
  for (const x of (f.exclude as string[] | undefined) ?? [])
    if (!model.graph.nodes.some((n) => n.name === x || n.opType === x)) {
      const opTypes = [...new Set(model.graph.nodes.map((n) => n.opType))].sort();
      throw new UsageError(
        `--exclude '${x}' is neither a node name nor an op type of ${inPath}`,
        `node names are as in the model file; op types here: ${opTypes.join(', ')}`,
      );
    }
  // Without task data the timing (and random calibration) synthesises inputs: every dim must be
  // settled by --shape/--batch, which is known now, not after the quantization.
  const taskData = (f.calibration !== undefined && f.calibration !== 'random') || f.data !== undefined;
  if (!taskData) planFills(declaredInputs(model), values); // an integer input needs a value before any work
  if (!taskData || f.shape || (f.batch !== undefined && f.batch !== 1))
    resolveInputs(declaredInputs(model), { batch: f.batch as number | undefined, shapes: f.shape ? parseShapeFlags(f.shape as string[]) : undefined });

  // Parameters: the pass's declaration validates them (unknown keys are errors).
  const raw: Record<string, unknown> = {};
  for (const kv of (f.param as string[] | undefined) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param expects key=value, got '${kv}'`);
    raw[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (f.exclude !== undefined) raw.exclude = f.exclude;
  if (f['per-channel'] !== undefined && 'perChannel' in pass.params) raw.perChannel = f['per-channel'];
  if (f.method !== undefined) raw.method = f.method;
  if (f['int4-method'] !== undefined) {
    if (raw.method !== undefined && raw.method !== f['int4-method'])
      throw new UsageError(
        `--int4-method ${String(f['int4-method'])} and --param method=${String(raw.method)} disagree`,
        'give the int4 algorithm once, with --int4-method',
      );
    raw.method = f['int4-method'];
  }
  if (f.scope !== undefined) {
    if (f.search) throw new UsageError('--scope and --search do not go together', '--search tries every scope itself');
    raw.scope = f.scope;
  }
  if (mode === 'static') raw.calibrationSamples = f.samples;
  const params = validateParams(pass.name, pass.params, raw);

  // Data: calibration stream and a held-out stream for quality.
  const samples = f.samples as number;
  const evalSamples = f['eval-samples'] as number;
  const shapes = f.shape ? parseShapeFlags(f.shape as string[]) : undefined;
  const batch = f.batch as number | undefined; // undefined: 1, or the batch written into --shape
  const data = await dataStreams(
    model,
    f.calibration as string | undefined,
    f.data as string | undefined,
    samples,
    evalSamples,
    batch,
    shapes,
    pass.needsCalibration === true || (mode === 'int4' && params.method === 'gptq'),
    values,
    f.seed as number,
  );
  for (const n of data.notes ?? []) log(`inputs: ${n}`);
  if (data.random)
    log(
      'WARNING: calibrating and scoring on SYNTHETIC random inputs (--calibration random): ranges may not match real data, and agreement on random inputs is not evidence of quality. Give --data <file.npy | folder> with real samples.',
    );
  const ctxPass: PassContext = { calibration: data.calibration, log };

  log(`quantizing ${inPath} (${mode})…`);
  let result: { model: Model; record: PassRecord };
  let table: SensitivityRow[] | undefined;
  let keptFloat: string[] = [];
  let guard: GuardResult | undefined;
  let searched: SearchRow[] | undefined;
  const probe = data.holdout ? await onData('held-out', () => QualityProbe.create(model, data.holdout!, { maxSamples: evalSamples })) : undefined;
  // Timing feeds: the given shapes, else a held-out sample (real shapes for models with dynamic dims).
  const timingFeeds = !shapes && (batch ?? 1) === 1 && probe?.feeds[0] ? probe.feeds[0] : undefined;
  const timing = { threads: f.threads as number, batch, shapes, feeds: timingFeeds, rounds: f.rounds as number };
  if (f.search) {
    if (mode !== 'static') throw new UsageError('--search applies to --mode static only');
    const s = await searchScopes(model, params as ParamValues, ctxPass, probe, floor, timing, log);
    ({ result, guard } = s.best);
    searched = s.rows;
    if (floor !== undefined && !s.best.meetsFloor)
      log(`warning: no scope meets the quality floor ${floor}; kept the one closest to it. Try --quality-floor without --search (mixed precision).`);
  } else if (floor !== undefined) {
    if (!probe) throw new UsageError('--quality-floor needs data to measure quality on', 'add --calibration <task> (or random)');
    const mp = await mixedPrecision(model, params as ParamValues, ctxPass, probe, { floor, log });
    result = mp.result;
    table = mp.table;
    keptFloat = mp.keptFloat;
    if (!mp.floorMet) log(`warning: quality floor ${floor} not reached even with ${keptFloat.length} node(s) kept float (best ${mp.quality.toFixed(4)})`);
  } else {
    result = await runPass(pass, model, params, ctxPass);
  }

  // Quality change and speed, both against the input (or --reference): a metric fitted to each output.
  const agreement = data.holdout
    ? await onData('held-out', () => agreementOn(result.model, (f.reference as string | undefined) ?? model, data.holdout!, evalSamples, f.threads as number))
    : undefined;
  // A pass that changed nothing gives the input back byte for byte: timing it would only measure noise.
  const unchanged = Buffer.compare(Buffer.from(serializeModel(result.model)), Buffer.from(serializeModel(model))) === 0;
  if (unchanged) log(`no change: ${pass.name} left the model as it was${noChangeReasons(result.record)}`);
  if (!guard) {
    log('timing against the input (interleaved, same settings)…');
    guard = await guardSpeed(model, result.model, unchanged ? { ...timing, rounds: 1, iterations: 3, warmup: 1 } : timing);
  }
  // The task's own metric (accuracy, CER, …) on the held-out split, for the input and the output.
  let taskMetric: { metric: string; input: number; output: number; higherIsBetter: boolean; n: number } | undefined;
  if (data.heldTask) {
    const score = async (m: Model) => {
      const s = await createSession(m, { threads: f.threads as number });
      try {
        // an embedding task is scored against a reference: the input model, or --reference
        return await evaluate(s, data.heldTask!, {
          limit: evalSamples,
          batchSize: 1,
          ...(refSession ? { reference: refSession } : {}),
          ...(data.extraFeeds ? { extraFeeds: data.extraFeeds } : {}),
        });
      } finally {
        await s.release();
      }
    };
    log(`scoring both on task '${data.heldTask.name}'…`);
    const refSession =
      data.heldTask.spec.output.decode === 'embedding'
        ? await createSession((f.reference as string | undefined) ?? model, { threads: f.threads as number })
        : undefined;
    let a: Awaited<ReturnType<typeof score>>;
    let b: Awaited<ReturnType<typeof score>>;
    try {
      a = await score(model);
      b = await score(result.model);
    } finally {
      await refSession?.release();
    }
    taskMetric = { metric: a.primary.name, input: a.primary.value, output: b.primary.value, higherIsBetter: a.primary.higherIsBetter, n: b.n };
  }
  const floatOps = result.record.skipped;
  // Written only once everything is measured: an error above leaves no output behind.
  writeModel(result.model, out);

  if (json) {
    ctx.stdout.write(
      JSON.stringify(
        {
          input: inPath,
          output: out,
          mode,
          pass: pass.name,
          params: result.record.params,
          verdict: unchanged ? 'no-change' : guard.verdict,
          speedup: guard.speedup,
          latencyMs: { input: guard.baseline, output: guard.candidate },
          taskMetric: taskMetric ?? null,
          quality: agreement
            ? {
                metric: agreement.primary.name,
                value: agreement.primary.value,
                ci: agreement.primary.ci,
                metrics: agreement.metrics,
                outputs: agreement.outputs ?? [],
                n: agreement.n,
                against: f.reference ? String(f.reference) : 'the input model',
                basis: data.random ? 'random' : 'data',
              }
            : null,
          calibration: data.describe,
          stats: result.record.stats,
          floatOps,
          keptFloat,
          sensitivity: table ?? null,
          search: searched ?? null,
          notes: result.record.notes,
          machine: guard.machine,
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  const w = (s: string) => ctx.stdout.write(s + '\n');
  w(`wrote ${out}`);
  if (unchanged) w(`no change: ${pass.name} left the model byte-identical to the input${noChangeReasons(result.record)}; nothing to gain from it`);
  else w(`speed:   ${guard.summary} [${guard.machine.threads} thread, ${guard.machine.cpu}, ORT ${guard.machine.ort}]`);
  if (agreement) {
    const figs = Object.entries(agreement.metrics)
      .filter(([k]) => !k.includes(':'))
      .map(([k, v]) => `${k} ${v.value.toFixed(4)} [${v.ci[0].toFixed(4)}, ${v.ci[1].toFixed(4)}]`)
      .join(', ');
    w(`quality: vs ${f.reference ? String(f.reference) : 'the input'} on ${agreement.n} held-out samples (${data.describe}): ${figs}`);
    if (data.random) w('         RANDOM inputs: this agreement is not evidence of quality on real data');
  } else w('quality: not measured (no data; give --data <file.npy | folder>, --calibration <task>, or random)');
  if (taskMetric) {
    const d = taskMetric.output - taskMetric.input;
    const better = d === 0 ? 'unchanged' : d > 0 === taskMetric.higherIsBetter ? 'better' : 'WORSE';
    w(`task:    ${taskMetric.metric} ${taskMetric.input.toFixed(4)} → ${taskMetric.output.toFixed(4)} (${better}; ${taskMetric.n} held-out items)`);
  }
  for (const [k, v] of Object.entries(result.record.stats)) if (typeof v === 'number' && !k.includes('.')) w(`  ${k}: ${v}`);
  if (table?.length) {
    w('sensitivity (quality bought back by keeping one node float, per ms it costs; best first):');
    for (const r of table.slice(0, 8)) w(`  ${r.node} (${r.opType}): ${r.gain >= 0 ? '+' : ''}${r.gain.toFixed(4)} quality, +${r.msCost.toFixed(3)} ms`);
    if (table.length > 8) w(`  … ${table.length - 8} more in --json`);
  }
  if (keptFloat.length) w(`kept float for the quality floor: ${keptFloat.join(', ')}`);
  if (searched) {
    w('scopes tried (the fastest that meets the floor is kept):');
    for (const r of searched)
      w(`  ${r.chosen ? '*' : ' '} ${r.scope.padEnd(9)} ${r.speedup.toFixed(2)}× (${r.verdict}), quality ${r.quality === null ? 'n/a' : r.quality.toFixed(4)}`);
  }
  if (floatOps.length) {
    w(`left in float (${floatOps.length}):`);
    const byReason = new Map<string, string[]>();
    for (const s of floatOps) byReason.set(`${s.opType}: ${s.reason}`, [...(byReason.get(`${s.opType}: ${s.reason}`) ?? []), s.node]);
    for (const [reason, nodes] of byReason) w(`  ${reason} (${nodes.length}${nodes.length <= 3 ? `: ${nodes.join(', ')}` : ''})`);
  }
  for (const n of result.record.notes) w(`note: ${n}`);
  return 0;
}

interface DataStreams {
  calibration?: () => AsyncIterable<Feeds>;
  holdout?: () => AsyncIterable<Feeds>;
  /** The held-out split of a real task: the change in its own metric is reported too. */
  heldTask?: Task;
  describe: string;
  random: boolean;
  notes?: string[];
  /** Inputs a task does not feed, for the task's own evaluation. */
  extraFeeds?: Record<string, ort.Tensor>;
}

async function dataStreams(
  model: Model,
  ref: string | undefined,
  dataPath: string | undefined,
  n: number,
  nEval: number,
  batch: number | undefined,
  shapes: Record<string, number[]> | undefined,
  needed: boolean,
  values: Record<string, number>,
  seed: number,
): Promise<DataStreams> {
  const declared = declaredInputs(model);
  if (ref === undefined && dataPath !== undefined) {
    // The user's own samples: calibration reads its calibration part only, quality its held-out part.
    const d = openUserData(dataPath, declared, { values, seed, ...(shapes ? { shapes } : {}) });
    return {
      calibration: d.stream('calibration', n) as () => AsyncIterable<Feeds>,
      holdout: d.stream('holdout', nEval) as () => AsyncIterable<Feeds>,
      describe: `${d.describe}`,
      random: false,
      notes: d.notes,
    };
  }
  if (ref === undefined) {
    if (needed)
      throw new UsageError(
        'this mode needs calibration data',
        "give --data <file.npy | folder> with your samples, --calibration <task> (a built-in task such as 'serials', or a task spec .json), or '--calibration random' for synthetic inputs",
      );
    return { describe: 'none', random: false };
  }
  if (ref === 'random') {
    const stream = (seed0: number, count: number) =>
      async function* (): AsyncIterable<Feeds> {
        for (let i = 0; i * (batch ?? 1) < count; i++) {
          const feeds = synthesizeFeeds(model, { batch, shapes, values, seed: seed0 + i });
          const out: Feeds = {};
          for (const [k, t] of Object.entries(feeds)) out[k] = { type: t.type, data: t.data as ArrayLike<number>, dims: t.dims };
          yield out;
        }
      };
    const notes = planFills(declared, values)
      .filter((p) => p.note)
      .map((p) => p.note!);
    return { calibration: stream(1, n), holdout: stream(100_000, nEval), describe: 'synthetic random inputs', random: true, notes };
  }
  if (existsSync(ref) && statSync(ref).isDirectory()) {
    throw new UsageError(
      `--calibration ${ref} is a folder, but a folder alone does not say how to feed the model`,
      `give your samples with --data ${ref} (a folder of <input name>.npy), or the task they belong to with --calibration <task or spec.json> --data ${ref}`,
    );
  }
  const cal = await loadTask(ref, { data: dataPath, split: 'train', limit: n });
  const held = await loadTask(ref, { data: dataPath, split: 'test', limit: nEval });
  // A task feeds one input (or a text model's ids/mask): the model's other inputs take --value, or
  // zeros when they are recurrent state; any other is refused now, not by ORT mid-calibration.
  const fill = completeFeeds(model, cal, values, shapes);
  return {
    // Passing the model lets the task fit its preprocessing to the model's input (rank, layout, size).
    calibration: fill.wrap(calibrationFeeds(cal, n, { model })),
    holdout: fill.wrap(calibrationFeeds(held, nEval, { model, batchSize: 1 })),
    heldTask: held,
    describe: `task '${cal.name}' (${n} calibration / ${nEval} held-out)`,
    random: false,
    notes: fill.notes,
    extraFeeds: toOrtFeeds(fill.fixed),
  };
}

/** Adds the inputs a task does not feed (from --value, or zeros for recurrent state) to every batch of a stream. */
function completeFeeds(model: Model, task: Task, values: Record<string, number>, shapes: Record<string, number[]> | undefined) {
  const declared = declaredInputs(model);
  const fitted = fitTaskToModel(task, modelIO(model));
  const p = task.spec.preprocess;
  const fed = p.kind === 'text' ? [p.inputs.ids, p.inputs.mask, p.inputs.typeIds].filter((x): x is string => !!x) : [fitted.input];
  const rest = declared.filter((i) => !fed.includes(i.name));
  const plan = planFills(rest, values);
  const open = plan.filter((x) => x.fill === 'random').map((x) => x.name);
  if (open.length)
    throw new UsageError(
      `task '${task.name}' feeds ${fed.join(', ')}, but the model also takes ${open.map((x) => `'${x}'`).join(', ')}`,
      `give ${open.map((x) => `--value ${x}=<v>`).join(' ')}, or use --data <folder> with one <input name>.npy per input`,
    );
  const fixed: Feeds = {};
  // --shape may name the input the task feeds too (it sets the latency runs' shape): only the rest's apply here
  const restShapes = shapes ? Object.fromEntries(Object.entries(shapes).filter(([k]) => rest.some((i) => i.name === k))) : undefined;
  for (const r of resolveInputs(rest, { batch: 1, ...(restShapes ? { shapes: restShapes } : {}) })) {
    const t = filledTensor(r, values[r.name] ?? 0);
    fixed[r.name] = { type: t.type, data: t.data as ArrayLike<number>, dims: t.dims };
  }
  return {
    notes: plan.filter((x) => x.note).map((x) => x.note!),
    fixed,
    wrap: (stream: () => AsyncIterable<Feeds>) => () =>
      (async function* () {
        for await (const f of stream()) yield { ...fixed, ...f };
      })(),
  };
}

/** A pass that throws on a model it cannot handle is the user's dead end, not a crash: say which pass and what to try. */
export async function runPass(pass: ReturnType<typeof findPass> & {}, model: Model, params: ParamValues, ctx: PassContext) {
  try {
    return await pass.run(model, params, ctx);
  } catch (e) {
    if (e instanceof EdgefitError) throw e;
    if (isRunRejection(e)) throw dataMismatch(e, 'calibration');
    throw new EdgefitError(
      `${pass.name} could not quantize this model: ${((e as Error).message ?? String(e)).split('\n')[0]}`,
      'E_PASS_FAILED',
      `try another --mode, or keep the node it names float with --exclude <node or op type>; a model that still fails is a bug to report with the model's 'edgefit inspect' output`,
    );
  }
}

/** " (Conv: not a MatMul ×3)": the reasons a pass recorded for what it left alone. */
function noChangeReasons(rec: PassRecord): string {
  const groups = new Map<string, number>();
  for (const sk of rec.skipped) groups.set(`${sk.opType}: ${sk.reason}`, (groups.get(`${sk.opType}: ${sk.reason}`) ?? 0) + 1);
  const r = [...groups].slice(0, 3).map(([k, n]) => `${k}${n > 1 ? ` ×${n}` : ''}`);
  return r.length ? ` (${r.join('; ')})` : '';
}

/** ONNX Runtime refusing the feeds (a shape, a missing input): the data does not fit the model. */
function isRunRejection(e: unknown): boolean {
  return /Non-zero status code|missing in 'feeds'|invalid dimensions|Invalid rank|Attempting to broadcast|input .* not found/i.test(
    (e as Error)?.message ?? '',
  );
}

function dataMismatch(e: unknown, when: string): EdgefitError {
  return new EdgefitError(
    `the model could not run on the ${when} data: ${((e as Error).message ?? String(e)).split('\n')[0]!.slice(0, 300)}`,
    'E_DATA_MODEL',
    "the data does not fit this model's inputs (a task made for another model, e.g. 48-pixel text lines for a detector that needs sides in multiples of 32): give your own samples with --data <file.npy | folder> in the shape the model takes (edgefit inspect shows it), or a task spec whose preprocess fits",
  );
}

/** Runs `fn`, turning ONNX Runtime's refusal of the data into a typed error. */
async function onData<T>(when: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof EdgefitError) && isRunRejection(e)) throw dataMismatch(e, when);
    throw e;
  }
}

/** Agreement of `candidate` with `reference` on the held-out feeds, output by output. */
async function agreementOn(candidate: Model, reference: Model | string, holdout: () => AsyncIterable<Feeds>, limit: number, threads: number) {
  const a = await createSession(candidate, { threads });
  const b = await createSession(reference, { threads });
  try {
    const feeds = (async function* () {
      let k = 0;
      for await (const f of holdout()) {
        if (k++ >= limit) return;
        yield toOrtFeeds(f);
      }
    })();
    return await agreementWith(a, b, feeds);
  } finally {
    await a.release();
    await b.release();
  }
}

interface SearchRow {
  scope: Scope;
  speedup: number;
  verdict: GuardResult['verdict'];
  quality: number | null;
  chosen: boolean;
}

/** Quantizes with each scope, times each against the input, and keeps the fastest that meets the floor. */
async function searchScopes(
  model: Model,
  params: ParamValues,
  ctx: PassContext,
  probe: QualityProbe | undefined,
  floor: number | undefined,
  timing: GuardOptions,
  log: (s: string) => void,
) {
  type Cand = { result: StaticQuantResult; guard: GuardResult; quality: number | null; meetsFloor: boolean; scope: Scope };
  const cands: Cand[] = [];
  let ranges: Map<string, [number, number]> | undefined;
  for (const scope of SCOPES) {
    const result = await quantizeStatic(model, { ...params, scope }, ctx, ranges ? { ranges } : undefined);
    ranges ??= result.ranges;
    const guard = await guardSpeed(model, result.model, timing);
    const quality = probe ? pick(await probe.measure(result.model), probe.defaultMetric) : null;
    log(`scope ${scope}: ${guard.summary}${quality === null ? '' : `, quality ${quality.toFixed(4)}`}`);
    cands.push({ result, guard, quality, meetsFloor: floor === undefined || (quality ?? 0) >= floor, scope });
  }
  const pool = cands.some((c) => c.meetsFloor) ? cands.filter((c) => c.meetsFloor) : [cands.reduce((a, b) => ((b.quality ?? 0) > (a.quality ?? 0) ? b : a))];
  const best = pool.reduce((a, b) => (b.guard.speedup > a.guard.speedup ? b : a));
  const rows: SearchRow[] = cands.map((c) => ({ scope: c.scope, speedup: c.guard.speedup, verdict: c.guard.verdict, quality: c.quality, chosen: c === best }));
  return { best, rows };
}
