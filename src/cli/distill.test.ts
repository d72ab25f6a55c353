// `edgefit distill` end to end on tiny settings (the distilled and the alone student side by side, the
// written model), and the user errors it must refuse with a message and no output file.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModel } from '../onnx/write-model.js';
import { readModel } from '../onnx/read-model.js';
import { buildMlp } from '../train/models.js';
import { resnetCnn } from '../zoo/index.js';
import { runCli } from './test-cli.js';

function withDir(f: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefit-cli-distill-'));
    try {
      await f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'edgefit distill: a zoo student with LoRA, reported beside the student trained alone, written merged',
  withDir(async (dir) => {
    const teacher = join(dir, 't.onnx');
    writeModel(buildMlp([784, 32, 10], 1), teacher);
    const out = join(dir, 's.onnx');
    const r = await runCli([
      'distill',
      teacher,
      '--student',
      'mlp:784-16-10',
      '--task',
      'mnist',
      '--limit',
      '400',
      '--epochs',
      '1',
      '--lora',
      '2',
      '-o',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { test: { distilled: number; alone: number; teacher: number }; lora: { trainable: number }; trainableParameters: number };
    assert.ok(j.test.distilled >= 0 && j.test.alone >= 0 && j.test.teacher >= 0);
    assert.equal(j.lora.trainable, (784 + 16) * 2 + (16 + 10) * 2);
    assert.equal(j.trainableParameters, j.lora.trainable);
    assert.ok(existsSync(out));
  }),
);

const BAD: { name: string; teacher: () => ReturnType<typeof buildMlp>; args: string[]; message: RegExp }[] = [
  {
    name: 'a teacher whose outputs do not match the student',
    teacher: () => buildMlp([784, 8, 10]),
    args: ['--student', 'mlp:784-8-7'],
    message: /teacher's outputs .* do not match the student's/,
  },
  {
    name: 'a --student spec that removes everything',
    teacher: () => resnetCnn({ imageSize: 28, inChannels: 1, widths: [4, 8], classes: 10 }),
    args: ['--student', 'drop:all'],
    message: /drops all \d+ residual blocks/,
  },
  {
    name: 'a LoRA pattern that matches no weight',
    teacher: () => buildMlp([784, 8, 10]),
    args: ['--student', 'mlp:784-8-10', '--lora', '4', '--lora-pattern', 'zzz'],
    message: /matches no MatMul/,
  },
  {
    name: 'a width reduction that removes everything',
    teacher: () => buildMlp([784, 8, 10]),
    args: ['--student', 'width:1'],
    message: /must be above 0 and below 1/,
  },
  {
    name: 'a batch of 0 (it looped forever before)',
    teacher: () => buildMlp([784, 8, 10]),
    args: ['--student', 'mlp:784-4-10', '-b', '0'],
    message: /--batch must be above 0, got 0/,
  },
  {
    name: '--teacher-top-k on a classifier task (it applies to OCR tasks)',
    teacher: () => buildMlp([784, 8, 10]),
    args: ['--student', 'mlp:784-4-10', '--teacher-top-k', '8'],
    message: /--teacher-top-k applies to OCR tasks only/,
  },
];

for (const c of BAD)
  test(
    `edgefit distill refuses ${c.name}: exit 2, a message, no output`,
    withDir(async (dir) => {
      const teacher = join(dir, 't.onnx');
      writeModel(c.teacher(), teacher);
      const out = join(dir, 's.onnx');
      const r = await runCli(['distill', teacher, ...c.args, '--task', 'mnist', '--limit', '200', '--epochs', '1', '-o', out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, c.message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(!existsSync(out));
    }),
  );

test(
  'edgefit distill --student width:0.5: the teacher narrowed by structured pruning, half its hidden units, and the same narrowed student trained alone',
  withDir(async (dir) => {
    const teacher = join(dir, 't.onnx');
    writeModel(buildMlp([784, 32, 10], 1), teacher);
    const out = join(dir, 's.onnx');
    const r = await runCli(['distill', teacher, '--student', 'width:0.5', '--task', 'mnist', '--limit', '300', '--epochs', '1', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr + r.stdout, /training the same student alone/);
    const hidden = [...readModel(out).graph.initializers.values()].filter((t) => t.dims.length === 2).map((t) => t.dims);
    assert.deepEqual(hidden, [
      [784, 16],
      [16, 10],
    ]);
  }),
);
