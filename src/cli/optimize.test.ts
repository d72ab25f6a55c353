import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModel } from '../onnx/write-model.js';
import { DataType, GraphBuilder } from '../onnx/index.js';
import { mlp } from '../zoo/index.js';
import { parseDuration } from './optimize.js';
import { UsageError } from '../onnx/errors.js';
import { featureSamples, sigmoidClassifier, vadLike, writeNpy } from '../search/test-fixtures.js';
import { runCli } from './test-cli.js';

test('parseDuration: units, and a zero or negative time limit is refused', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('8m'), 480_000);
  for (const bad of ['0s', '-5m', 'abc', '1h30']) assert.throws(() => parseDuration(bad), /duration/, bad);
  // a bare number: seconds or minutes? Neither is guessed.
  for (const bare of ['5', '600', '0'])
    assert.throws(
      () => parseDuration(bare),
      (e: unknown) => e instanceof UsageError && /has no unit/.test(e.message) && e.hint === `say ${bare}s, ${bare}m or ${bare}h (e.g. --time-limit 20m)`,
    );
});

test('optimize: flags out of range are usage errors before any run directory is made', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-optimize-cli-'));
  try {
    const model = join(dir, 'mlp.onnx');
    writeModel(mlp({ sizes: [8, 8, 4] }), model);
    const out = join(dir, 'run');
    const sig = join(dir, 'sig.onnx');
    writeModel(sigmoidClassifier({ features: 4, hidden: 4 }), sig);
    const npy = writeNpy(join(dir, 'x.npy'), featureSamples(10, 4), [10, 4]);
    const vad = join(dir, 'vad.onnx');
    writeModel(vadLike(), vad);
    // each wrong flag: exit 2, one message with a hint, no run directory, before any measurement
    const cases: [string, string[], RegExp][] = [
      [sig, ['--time-limit', '5'], /--time-limit 5 has no unit[\s\S]*hint: say 5s, 5m or 5h/],
      [sig, ['--budget', 'p99<=fast'], /cannot read the time 'fast'[\s\S]*hint: /],
      [sig, ['--budget', 'p99<=12'], /cannot read the time '12'/],
      [sig, ['--passes', 'quantize-dynamc'], /unknown pass 'quantize-dynamc'[\s\S]*hint: did you mean 'quantize-dynamic'/],
      [
        sig,
        ['--data', npy, '--quality', 'cer<=+1pt'],
        /--quality cer<=\+1pt: agreement with the source model \(outputs: prob decision\) gives no 'cer'[\s\S]*needs a text task/,
      ],
      [sig, ['--data', npy, '--value', 'rate=3'], /--value names 'rate', which is not an input/],
      [sig, ['--data', npy, '--output-kind', 'prob=logits'], /--output-kind 'prob=logits' is not output=kind[\s\S]*hint: write --output-kind/],
      [sig, ['--data', npy, '--output-kind', 'score=dense'], /--output-kind names 'score', which the model does not output[\s\S]*hint: its outputs are 'prob'/],
      [vad, ['--shape', 'audio=1,16'], /integer input 'sr' needs a value[\s\S]*hint: give --value sr=<number>/],
    ];
    for (const [m, extra, want] of cases) {
      const r = await runCli(['optimize', m, '-o', out, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, want, extra.join(' '));
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      assert.ok(!existsSync(out), `${extra.join(' ')}: no run directory`);
    }
    for (const extra of [
      ['--time-limit', '0s'],
      ['--threads', '1000'],
      ['--screen-seconds', '1e9'],
      ['--full-seconds', '0'],
    ]) {
      const r = await runCli(['optimize', model, '--budget', 'p99<=1ms', '-o', out, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^edgefit: error: /);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      assert.ok(!existsSync(out), `${extra.join(' ')}: no run directory`);
    }
    // a dim no flag settles: the --shape to give, up front (not a failed baseline after the set-up)
    const b = new GraphBuilder('open');
    b.output(b.op('MatMul', [b.input('x', DataType.FLOAT, ['batch', 'width', 8]), b.floats('w', [8, 4], new Float32Array(32))]));
    const open = join(dir, 'open.onnx');
    writeModel(b.model({ opset: 17 }), open);
    const r = await runCli(['optimize', open, '--budget', 'p99<=1ms', '-o', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /dim 1 \('width'\)[\s\S]*hint: give the full shape: --shape x=1,<width>,8/);
    assert.ok(!existsSync(out), 'no run directory');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
