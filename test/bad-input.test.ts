// Every kind of bad input a user can hand the CLI: each exits non-zero with one clear message that names
// the file and the problem, prints no stack trace, and leaves no partial output file behind.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli as run } from '../src/cli/test-cli.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/onnx/dtype.js';
import { encodeMessage } from '../src/onnx/protobuf.js';
import * as S from '../src/onnx/onnx-schema.js';
import { serializeModel } from '../src/onnx/write-model.js';
import { PADDLE } from '../src/onnx/test-models.js';

const root = join(fileURLToPath(import.meta.url), '..', '..');

/** The shape every rejection must have: exit 1, one error line naming the file, a hint, no stack. */
function assertOneClearError(r: { code: number; stderr: string }, file: string, problem: RegExp) {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  const errors = lines.filter((l) => l.startsWith('edgefit: error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.ok(errors[0]!.includes(file), `message names ${file}: ${r.stderr}`);
  assert.match(r.stderr, problem);
  assert.ok(
    lines.some((l) => l.startsWith('hint: ')),
    r.stderr,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
}

const dir = mkdtempSync(join(tmpdir(), 'edgefit-bad-'));
const cls = readFileSync(PADDLE.cls.path);
const put = (name: string, bytes: Uint8Array | string) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};
const outDir = mkdtempSync(join(tmpdir(), 'edgefit-bad-out-'));

/** inspect, bench and convert each reject the file; convert leaves nothing in its output folder. */
async function rejectedEverywhere(file: string, problem: RegExp, extra: string[] = []) {
  assertOneClearError(await run(['inspect', file, ...extra]), file, problem);
  assertOneClearError(await run(['bench', file, '--iterations', '1', ...extra]), file, problem);
  assertOneClearError(await run(['convert', file, '-o', join(outDir, 'out.onnx'), ...extra]), file, problem);
  assert.deepEqual(readdirSync(outDir), [], 'no partial output');
}

test.after(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

test('a truncated file', async () => {
  await rejectedEverywhere(put('truncated.onnx', cls.subarray(0, Math.floor(cls.length * 0.6))), /truncated|runs past the end|not a readable ONNX/);
});

test('a corrupt file', async () => {
  const bad = Buffer.from(cls);
  bad.fill(0xff, 200, 260);
  await rejectedEverywhere(put('corrupt.onnx', bad), /not a readable ONNX model|malformed/);
});

test('files that are not ONNX: text, PNG, empty, a folder', async () => {
  await rejectedEverywhere(put('notes.onnx', 'this is a text file, not a model\n'), /not (a readable )?ONNX/);
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]);
  await rejectedEverywhere(put('image.png', png), /not (a readable )?ONNX/);
  await rejectedEverywhere(put('empty.onnx', ''), /is empty/);
  await rejectedEverywhere(dir, /is a folder/);
  await rejectedEverywhere(join(dir, 'no-such.onnx'), /cannot be read \(ENOENT\)/);
});

test('a declared dim or a tensor over a limit set by flag', async () => {
  const p = put('cls.onnx', cls);
  await rejectedEverywhere(p, /declares dim 3, outside 0..2|declares dim \d+, over the limit of 2/, ['--max-dim', '2']);
  await rejectedEverywhere(p, /over the 1000-byte limit/, ['--max-tensor-bytes', '1000']);
});

function externalModel(location: string): Uint8Array {
  return encodeMessage(
    {
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        initializer: [
          {
            name: 'w',
            data_type: DataType.FLOAT,
            dims: [4],
            data_location: 1,
            external_data: [
              { key: 'location', value: location },
              { key: 'length', value: '16' },
            ],
          },
        ],
        node: [{ op_type: 'Identity', input: ['w'], output: ['y'] }],
        output: [{ name: 'y', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 4 }] } } } }],
      },
    },
    S.Model,
  );
}

test('external data that is absolute, escapes the folder, or is missing', async () => {
  const secret = put('secret.bin', new Uint8Array(16));
  const sub = mkdtempSync(join(dir, 'model-'));
  const inSub = (name: string, location: string) => {
    const p = join(sub, name);
    writeFileSync(p, externalModel(location));
    return p;
  };
  await rejectedEverywhere(inSub('abs.onnx', secret), /is absolute/);
  await rejectedEverywhere(inSub('up.onnx', '../secret.bin'), /escapes the model's folder/);
  await rejectedEverywhere(inSub('missing.onnx', 'weights.bin'), /does not exist/);
});

test('a model ONNX Runtime rejects: convert --check keeps nothing, bench fails with one message', async () => {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, [2]);
  b.output(b.op('NoSuchOp', [x]));
  const p = put('rejected.onnx', serializeModel(b.model()));
  const r = await run(['convert', p, '-o', join(outDir, 'out.onnx'), '--check']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /edgefit: error: .*rejected\.onnx|edgefit: error: .*ONNX Runtime/);
  assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
  assert.deepEqual(readdirSync(outDir), []);
  const bench = await run(['bench', p, '--iterations', '1', '--warmup', '0']);
  assert.notEqual(bench.code, 0);
  assert.equal(bench.stderr.split('\n').filter((l) => l.startsWith('edgefit: error:')).length, 1, bench.stderr);
  assert.match(bench.stderr, /rejected\.onnx/);
  assert.doesNotMatch(bench.stderr, /\n\s+at |internal error/);
});

test('the real CLI process: exit code and stderr for a bad file', () => {
  const p = put('real.onnx', 'not a model');
  const runner = join(dir, 'run.mjs');
  writeFileSync(
    runner,
    `const { main } = await import(${JSON.stringify(join(root, 'src', 'cli', 'main.ts'))});\nprocess.exitCode = await main(process.argv.slice(2));\n`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', runner, 'inspect', p], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assertOneClearError({ code: r.status ?? -1, stderr: r.stderr }, p, /not (a readable )?ONNX/);
  assert.equal(r.stdout, '');
});
