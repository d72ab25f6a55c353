// End to end on the user's own data: `edgefit optimize model --data x.npy` with real passes and isolated
// measurements. The agreement it reports for a candidate must equal (within 0.01) an independent
// computation on the held-out samples it lists (scripts/check-agreement.mjs, which uses no edgefit
// code), and a candidate whose built model is byte-identical to another is never measured nor chosen.

import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/cli/test-cli.js';
import { writeModel } from '../src/onnx/write-model.js';
import { featureSamples, sigmoidClassifier, writeNpy } from '../src/search/test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-opt-user-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('optimize --data: honest agreement on held-out samples; byte-identical candidates are not measured', { timeout: 600_000 }, async () => {
  const model = join(dir, 'sig.onnx');
  writeModel(sigmoidClassifier({ features: 64, hidden: 256 }), model);
  const x = writeNpy(join(dir, 'x.npy'), featureSamples(120, 64), [120, 64]);
  const out = join(dir, 'run');
  const r = await runCli([
    'optimize',
    model,
    '--data',
    x,
    '--out',
    out,
    '--passes',
    'quantize-dynamic',
    '--max-variants',
    '4',
    '--quality',
    'decision-agreement>=0.9',
    '--screen-seconds',
    '0.3',
    '--full-seconds',
    '0.6',
    '--time-limit',
    '8m',
  ]);
  assert.ok(r.code === 0 || r.code === 3, r.stderr);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(s.quality.basis, 'data');
  assert.equal(s.quality.holdout.length, 36, '30% of 120 held out');
  // Byte-identical twins: never measured, never chosen, reported as 'no change'.
  const twins = s.candidates.filter((c: { identicalTo?: string }) => c.identicalTo);
  assert.ok(twins.length >= 1, 'quantize-dynamic mergeSiblings=true on a model with no sibling MatMuls builds the same bytes');
  for (const t of twins) {
    assert.equal(t.screen, undefined);
    assert.equal(t.full, undefined);
    assert.equal(t.verdict.kind, 'no-change');
    assert.notEqual(s.chosen, t.id);
  }
  // Honesty: what optimize reports for each measured candidate equals an independent computation.
  const measured = s.candidates.filter((c: { id: string; full?: unknown; screen?: unknown }) => c.id !== s.baseline && (c.full || c.screen));
  assert.ok(measured.length >= 1);
  for (const c of measured) {
    const check = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'scripts', 'check-agreement.mjs'), out, x, c.id], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const j = JSON.parse(check.stdout);
    assert.ok(j.diff <= 0.01, `${c.config.label}: reported ${j.reported}, independent ${j.independent}`);
  }
  const ladder = JSON.parse(readFileSync(join(out, 'ladder.json'), 'utf8'));
  assert.ok(ladder.rungs.length >= 1);
  assert.ok(!ladder.rungs.some((g: { id: string }) => twins.some((t: { id: string }) => t.id === g.id)), 'no twin on the ladder');
});
