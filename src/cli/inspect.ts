// `edgefit inspect <model>`: what is inside a model. Thin: parse, call inspectModelFile, print text or
// the stable JSON of docs/cli-json.md.

import { UsageError } from '../onnx/errors.js';
import { formatInspect, inspectModelFile } from '../onnx/inspect-model.js';
import type { ReadLimits } from '../onnx/limits.js';
import { parseShapeFlags } from '../runtime/inputs.js';
import type { Command, CommandContext, FlagSpec } from './command.js';

/** --max-dim and --max-tensor-bytes, shared by the commands that read models. */
export const LIMIT_FLAGS: FlagSpec[] = [
  { name: 'max-dim', type: 'integer', placeholder: 'n', description: 'refuse a model that declares a dim larger than this (default 2^31-1)' },
  { name: 'max-tensor-bytes', type: 'integer', placeholder: 'bytes', description: 'refuse a model with a tensor larger than this (default 16 GiB)' },
];

export function limitsFromFlags(ctx: CommandContext): Partial<ReadLimits> {
  const limits: Partial<ReadLimits> = {};
  const dim = ctx.flags['max-dim'] as number | undefined;
  const bytes = ctx.flags['max-tensor-bytes'] as number | undefined;
  if (dim !== undefined) {
    if (dim < 1) throw new UsageError(`--max-dim must be at least 1, got ${dim}`);
    limits.maxDim = dim;
  }
  if (bytes !== undefined) {
    if (bytes < 1) throw new UsageError(`--max-tensor-bytes must be at least 1, got ${bytes}`);
    limits.maxTensorBytes = bytes;
  }
  return limits;
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show what is inside a model: inputs, ops, parameters, MACs',
  args: [{ name: 'model', description: 'the .onnx file to inspect' }],
  flags: [
    {
      name: 'shape',
      type: 'string[]',
      placeholder: 'name=d1,d2,…',
      description: 'input shape for the MAC estimate; repeat for more inputs (default: symbolic batch = 1)',
    },
    ...LIMIT_FLAGS,
    { name: 'json', type: 'boolean', description: 'print the report as JSON (schema edgefit.inspect/1, docs/cli-json.md) on stdout' },
  ],
  details: `Parameters count every constant tensor: initializers and the values of Constant nodes (where
exporters such as Paddle2ONNX keep their weights). MACs are estimated for Conv, ConvTranspose, MatMul,
Gemm and their quantized forms wherever shapes can be inferred; a symbolic leading dim counts as 1.

  edgefit inspect ch_PP-OCRv4_rec_infer.onnx --shape x=1,3,48,320
  edgefit inspect model.onnx --json`,
  async run(ctx) {
    const path = ctx.args[0]!;
    const report = inspectModelFile(path, { limits: limitsFromFlags(ctx), shapes: parseShapeFlags((ctx.flags.shape as string[] | undefined) ?? []) });
    for (const name of Object.keys(parseShapeFlags((ctx.flags.shape as string[] | undefined) ?? [])))
      if (!report.inputs.some((i) => i.name === name))
        throw new UsageError(`--shape names '${name}', which is not an input of ${path}`, `the inputs are: ${report.inputs.map((i) => i.name).join(', ')}`);
    ctx.stdout.write(ctx.flags.json ? JSON.stringify(report, null, 2) + '\n' : formatInspect(report));
    return 0;
  },
};
