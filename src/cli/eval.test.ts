import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModel } from '../onnx/write-model.js';
import { featureSamples, sigmoidClassifier, writeNpy } from '../search/test-fixtures.js';
import { runCli } from './test-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-eval-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('eval --data x.npy --reference: agreement per output on unlabelled samples; a broken variant shows it', async () => {
  const src = join(dir, 'src.onnx');
  const broken = join(dir, 'broken.onnx');
  writeModel(sigmoidClassifier({ features: 8, hidden: 16 }), src);
  writeModel(sigmoidClassifier({ features: 8, hidden: 16, shift: 3 }), broken); // pushes the logit: flips decisions near 0.5
  const x = writeNpy(join(dir, 'x.npy'), featureSamples(40, 8), [40, 8]);
  const same = await runCli(['eval', src, '--data', x, '--reference', src, '--json']);
  assert.equal(same.code, 0, same.stderr);
  const a = JSON.parse(same.stdout);
  assert.equal(a.primary.name, 'decision-agreement');
  assert.equal(a.primary.value, 1);
  assert.equal(a.n, 40);
  const bad = await runCli(['eval', broken, '--data', x, '--reference', src, '--json', '--split', 'test']);
  assert.equal(bad.code, 0, bad.stderr);
  const b = JSON.parse(bad.stdout);
  assert.equal(b.n, 12, '--split test: the held-out part only');
  assert.ok(b.primary.value < 1, `decisions flipped: ${b.primary.value}`);
  assert.ok(b.metrics['max-abs-diff'].value > 0.05);
  const none = await runCli(['eval', src, '--data', x]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /unlabelled samples[\s\S]*hint: give --reference/);
});
