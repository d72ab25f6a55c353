// `edgefit prune`: structured pruning of a model on a task, recovery by distillation from the input,
// then before/after parameters, MACs, p50/p99 timed interleaved and the task metric with its interval.
// Thin: checks the flags, runs the prune job (prune-pipeline.ts), writes the model last, prints.

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../onnx/errors.js';
import { readModel } from '../onnx/read-model.js';
import { checkOutputPath, writeModel } from '../onnx/write-model.js';
import { MAX_THREADS } from '../runtime/session.js';
import type { Command, CommandContext } from './command.js';
import { runPruneJob, type PruneReport } from './prune-pipeline.js';

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'remove channels, heads, FFN neurons and whole layers, recover by distillation, and measure against the input',
  args: [{ name: 'model', description: 'the ONNX model to prune' }],
  flags: [
    { name: 'output', short: 'o', type: 'string', description: 'where to write the pruned model', placeholder: 'out.onnx' },
    {
      name: 'task',
      type: 'string',
      description: 'built-in task (mnist, serials, serials-rotated, parts, notes) or a task spec .json',
      placeholder: 'task|spec.json',
    },
    { name: 'data', type: 'string', description: "a data folder or file for the task (replaces the task's own data)", placeholder: 'dir' },
    { name: 'ratio', type: 'number', description: 'fraction of channels to remove, from 0 (none) to below 1', placeholder: '0..1' },
    {
      name: 'method',
      type: 'string',
      values: ['l1', 'l2', 'bn', 'taylor'],
      default: 'l1',
      description: 'channel importance: L1/L2 weight norm, |BatchNorm scale|, or first-order Taylor |Σ w·∂L/∂w| on the task data',
    },
    {
      name: 'scope',
      type: 'string',
      values: ['layer', 'global', 'wide'],
      default: 'layer',
      description: 'the same ratio in every group, only in the wide groups (at least half the widest), or one global ranking',
    },
    { name: 'multiple', type: 'integer', default: 8, description: 'round kept channel counts up to a multiple of this', placeholder: 'n' },
    { name: 'recover-epochs', type: 'integer', default: 3, description: 'epochs of distillation from the input after pruning (0: none)', placeholder: 'n' },
    {
      name: 'layers',
      type: 'integer',
      default: 0,
      description: 'also remove this many whole layers (residual blocks, transformer sublayers), least block influence first',
      placeholder: 'n',
    },
    { name: 'steps', type: 'integer', default: 1, description: 'iterative schedule: prune and recover in this many rounds', placeholder: 'n' },
    {
      name: 'lr',
      type: 'number',
      default: 0.0003,
      description: 'learning rate of the recovery (1e-3 wrecks PaddleOCR rec within a few steps)',
      placeholder: 'x',
    },
    { name: 'train-samples', type: 'integer', default: 1000, description: 'samples the recovery trains on', placeholder: 'n' },
    { name: 'eval-samples', type: 'integer', default: 200, description: 'held-out samples the quality is measured on', placeholder: 'n' },
    { name: 'threads', type: 'integer', default: 1, description: 'intra-op threads for timing and training', placeholder: 'n' },
    { name: 'rounds', type: 'integer', default: 8, description: 'interleaved timing rounds', placeholder: 'n' },
    { name: 'json', type: 'boolean', description: 'print one JSON object (schema edgefit.prune/1, docs/prune.md)' },
  ],
  details: `With --ratio 0 the model is written unchanged (bit-identical outputs). A result slower than the input
is reported as SLOWER. Examples:
  edgefit prune cnn.onnx --task mnist --ratio 0.5 --recover-epochs 2 -o cnn.pruned.onnx
  edgefit prune cls.onnx --task serials-rotated --ratio 0.5 --method bn -o cls.pruned.onnx --json`,
  run,
};

function checkFlags(f: CommandContext['flags'], inPath: string): { out: string; ratio: number } {
  const out = f.output as string | undefined;
  if (!out) throw new UsageError("'edgefit prune' needs -o <out.onnx>", 'name the file to write the pruned model to');
  if (f.task === undefined)
    throw new UsageError("'edgefit prune' needs --task <task|spec.json>", 'the task scores the model and feeds the recovery, e.g. --task mnist');
  const ratio = f.ratio as number | undefined;
  if (ratio === undefined) throw new UsageError("'edgefit prune' needs --ratio <0..1>", 'e.g. --ratio 0.5 removes half the channels of each prunable group');
  if (!(ratio >= 0 && ratio < 1))
    throw new UsageError(`--ratio must be from 0 to below 1, got ${ratio}`, 'it is the fraction of channels removed: 0.5 removes half');
  const counts: [string, number, number][] = [
    ['multiple', 1, 4096],
    ['recover-epochs', 0, 10_000],
    ['steps', 1, 100],
    ['layers', 0, 10_000],
    ['train-samples', 2, 10_000_000],
    ['eval-samples', 1, 10_000_000],
    ['threads', 1, MAX_THREADS],
    ['rounds', 1, 10_000],
  ];
  for (const [name, min, max] of counts) {
    const v = f[name] as number | undefined;
    if (v !== undefined && (v < min || v > max)) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${v}`, "see 'edgefit prune --help'");
  }
  if (!((f.lr as number) > 0)) throw new UsageError(`--lr must be > 0, got ${String(f.lr)}`);
  if (!existsSync(inPath)) throw new UsageError(`no such model file: ${inPath}`, 'check the path');
  if (resolve(out) === resolve(inPath)) throw new UsageError(`-o ${out} is the input model`, 'write the pruned model to a new file');
  checkOutputPath(resolve(out));
  return { out, ratio };
}

async function run(ctx: CommandContext): Promise<number> {
  const f = ctx.flags;
  const inPath = ctx.args[0]!;
  const { out, ratio } = checkFlags(f, inPath);
  const json = f.json === true;
  const { model, report } = await runPruneJob({
    model: readModel(inPath),
    task: f.task as string,
    data: f.data as string | undefined,
    ratio,
    method: f.method as 'l1' | 'l2' | 'bn' | 'taylor',
    scope: f.scope as 'layer' | 'global' | 'wide',
    multiple: f.multiple as number,
    recoverEpochs: f['recover-epochs'] as number,
    layers: f.layers as number,
    steps: f.steps as number,
    lr: f.lr as number,
    trainSamples: f['train-samples'] as number,
    evalSamples: f['eval-samples'] as number,
    threads: f.threads as number,
    rounds: f.rounds as number,
    log: (line) => (json ? undefined : ctx.log(line)),
  });
  // Written only once everything is measured: an error above leaves no output behind.
  writeModel(ratio === 0 && !f.layers ? readModel(inPath) : model, out);
  if (json) ctx.stdout.write(`${JSON.stringify({ input: inPath, output: out, ...report }, null, 2)}\n`);
  else for (const line of formatReport(report, out)) ctx.stdout.write(`${line}\n`);
  return 0;
}

export function formatReport(r: PruneReport, out: string): string[] {
  const pct = (a: number, b: number) => `${(((b - a) / a) * 100).toFixed(0)}%`;
  const q = (x: PruneReport['quality']['input']) => `${x.value.toFixed(4)} [${x.ci[0].toFixed(4)}, ${x.ci[1].toFixed(4)}]`;
  const ms = (v: number) => (v >= 10 ? v.toFixed(1) : v.toFixed(3));
  const lines = [
    `wrote ${out}`,
    `params:  ${r.params.input} → ${r.params.output} (${pct(r.params.input, r.params.output)})`,
    `MACs:    ${r.macs.input} → ${r.macs.output} (${pct(r.macs.input, r.macs.output)})${r.macs.complete ? '' : ' (some shapes unknown)'}`,
    `latency: p50 ${ms(r.latencyMs.input.p50)} → ${ms(r.latencyMs.output.p50)} ms, p99 ${ms(r.latencyMs.input.p99)} → ${ms(r.latencyMs.output.p99)} ms: ${
      r.verdict === 'slower' ? 'SLOWER than the input' : `${r.speedup.p50.toFixed(2)}× at p50, ${r.speedup.p99.toFixed(2)}× at p99`
    } [${r.machine.threads} thread, ${r.machine.cpu}]`,
    `quality: ${r.quality.input.metric} ${q(r.quality.input)} → ${q(r.quality.output)} (${r.quality.output.n} held-out items)`,
  ];
  for (const d of r.layersDropped) lines.push(`layer:   ${d}`);
  if (r.recovery)
    lines.push(
      `recovery (${r.recovery.objective}): ${r.recovery.epochs} epoch(s) × ${r.recovery.steps} step(s), loss ${r.recovery.loss.map((l) => l.toFixed(3)).join(' → ')}`,
    );
  const left = r.skipped.filter((s) => !s.reason.includes('reaches the model output'));
  if (left.length) {
    lines.push(`left unpruned (${left.length}):`);
    for (const s of left.slice(0, 8)) lines.push(`  ${s.opType} '${s.node}': ${s.reason}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines;
}
