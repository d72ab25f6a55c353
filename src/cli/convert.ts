// `edgefit convert <in> -o <out>`: read a model and write it back, optionally upgrading its opset and
// moving weights to an external data file. The output appears whole or not at all.

import { existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { constantsToInitializers } from '../onnx/constants.js';
import { EdgefitError, UsageError } from '../onnx/errors.js';
import { upgradeOpset, UPGRADE_RANGE, type UpgradeResult } from '../onnx/opset-upgrade.js';
import { readModel } from '../onnx/read-model.js';
import { verifyModel } from '../onnx/verify.js';
import { outputPathError, writeModel, type WriteResult } from '../onnx/write-model.js';
import type { Command } from './command.js';
import { LIMIT_FLAGS, limitsFromFlags } from './inspect.js';

export const CONVERT_SCHEMA = 'edgefit.convert/1';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'rewrite a model: round trip, opset upgrade, external data',
  args: [{ name: 'model', description: 'the .onnx file to read' }],
  flags: [
    { name: 'output', short: 'o', type: 'string', placeholder: 'file.onnx', description: 'where to write the result (required)' },
    {
      name: 'opset',
      type: 'integer',
      placeholder: 'n',
      description: `upgrade the ai.onnx opset to n (${13}–${UPGRADE_RANGE.maxTo}); models from opset ${UPGRADE_RANGE.minFrom} up`,
    },
    {
      name: 'external-data',
      type: 'boolean',
      description: 'store weights in <output>.data beside the model (Constant-node weights become initializers first)',
    },
    {
      name: 'external-threshold',
      type: 'integer',
      placeholder: 'bytes',
      default: 1024,
      description: 'with --external-data: tensors smaller than this stay inline',
    },
    { name: 'check', type: 'boolean', description: 'open the result with ONNX Runtime before keeping it; remove it if ORT rejects it' },
    ...LIMIT_FLAGS,
    { name: 'json', type: 'boolean', description: 'print what was done as JSON (schema edgefit.convert/1, docs/cli-json.md) on stdout' },
  ],
  details: `Examples:
  edgefit convert ch_PP-OCRv4_rec_infer.onnx -o rec17.onnx --opset 17 --check
  edgefit convert big.onnx -o out/big.onnx --external-data`,
  async run(ctx) {
    const input = ctx.args[0]!;
    const output = ctx.flags.output as string | undefined;
    if (!output) throw new UsageError("'edgefit convert' needs -o <output.onnx>", "see 'edgefit convert --help'");
    if (resolve(output) === resolve(input) && ctx.flags['external-data'])
      throw new UsageError('with --external-data the output must be a new file, not the input itself', 'pick another -o path');
    const threshold = ctx.flags['external-threshold'] as number;
    if (threshold < 0) throw new UsageError(`--external-threshold must be zero or more, got ${threshold}`);
    const model = readModel(input, { limits: limitsFromFlags(ctx) });
    const inputBytes = statSync(input).size; // before writing: the output may replace the input
    const fromOpset = model.opset('');
    let upgrade: UpgradeResult | undefined;
    const target = ctx.flags.opset as number | undefined;
    if (target !== undefined) upgrade = upgradeOpset(model, target);
    let constants: { converted: number; bytes: number } | undefined;
    if (ctx.flags['external-data']) {
      const r = constantsToInitializers(model, { subgraphs: true });
      constants = { converted: r.converted, bytes: r.bytes };
    }
    verifyModel(model, { context: `converting ${input}` });
    const writeOpts = ctx.flags['external-data'] ? { externalData: { threshold } } : {};
    let written: WriteResult;
    let checked = false;
    if (ctx.flags.check) {
      // Write into a staging folder beside the output (same file names, so external-data locations stay
      // right), let ORT open it there, and only then move it into place: a rejected model never replaces
      // the output, which may be an existing file or the input itself.
      const dest = resolve(output);
      let stage: string;
      try {
        stage = mkdtempSync(join(dirname(dest), '.edgefit-convert-'));
      } catch (e) {
        throw outputPathError(dest, e);
      }
      try {
        const staged = writeModel(model, join(stage, basename(dest)), writeOpts);
        const { createSession } = await import('../runtime/session.js');
        try {
          const s = await createSession(staged.path);
          await s.release();
        } catch (e) {
          // name the file the user asked for, not the staging copy
          if (e instanceof EdgefitError) throw new EdgefitError(`${e.message.split(staged.path).join(dest)} (nothing was written)`, e.code, e.hint);
          throw e;
        }
        checked = true;
        if (staged.externalDataPath) {
          const dataDest = join(dirname(dest), basename(staged.externalDataPath));
          renameSync(staged.externalDataPath, dataDest);
          written = { ...staged, path: dest, externalDataPath: dataDest };
        } else written = { ...staged, path: dest };
        try {
          renameSync(staged.path, dest);
        } catch (e) {
          throw outputPathError(dest, e);
        }
      } finally {
        rmSync(stage, { recursive: true, force: true });
      }
    } else written = writeModel(model, output, writeOpts);
    const report = {
      schema: CONVERT_SCHEMA,
      input: { path: resolve(input), bytes: inputBytes, opset: fromOpset ?? null },
      output: {
        path: resolve(output),
        bytes: written.bytes,
        opset: model.opset('') ?? null,
        externalData: written.externalDataPath
          ? { path: resolve(written.externalDataPath), bytes: written.externalBytes ?? 0, tensors: written.externalTensors ?? 0 }
          : null,
      },
      opsetUpgrade: upgrade ? { from: upgrade.from, to: upgrade.to, adapted: upgrade.adapted } : null,
      constantsToInitializers: constants ?? null,
      checkedWithOrt: checked,
    };
    if (ctx.flags.json) ctx.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      const lines = [`wrote ${output} (${written.bytes} bytes)`];
      if (written.externalDataPath)
        lines.push(`  external data ${written.externalDataPath}: ${written.externalBytes} bytes in ${written.externalTensors} tensors`);
      if (constants?.converted) lines.push(`  ${constants.converted} Constant nodes became initializers`);
      if (upgrade)
        lines.push(
          `  opset ${upgrade.from} → ${upgrade.to}${
            Object.keys(upgrade.adapted).length
              ? `: ${Object.entries(upgrade.adapted)
                  .map(([k, v]) => `${k}×${v}`)
                  .join(', ')}`
              : ''
          }`,
        );
      if (checked) lines.push('  ONNX Runtime loads it');
      ctx.stdout.write(lines.join('\n') + '\n');
    }
    return existsSync(output) ? 0 : 1;
  },
};
