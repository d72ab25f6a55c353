// Ctrl-C during optimize: the search stops at the next boundary, the summary of what was measured is
// written (no confirming measurement is started), and a rerun resumes.
import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeModel } from '../onnx/write-model.js';
import { optimize } from './optimize.js';
import { baselineConfig } from './space.js';
import { latencyFigures } from './stats.js';
import type { Measurer } from './strategy.js';
import type { CandidateConfig, Measurement } from './types.js';
import { featureSamples, sigmoidClassifier, writeNpy } from './test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-opt-int-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, 'sig.onnx');
writeModel(sigmoidClassifier({ features: 8, hidden: 16 }), model);
const data = writeNpy(join(dir, 'x.npy'), featureSamples(40, 8), [40, 8]);
const cfg = (label: string): CandidateConfig => ({
  label,
  passes: [{ name: 'fake', params: { label } }],
  session: { graphOptimizationLevel: 'all', disabledOptimizers: [] },
});
const MS: Record<string, number> = { baseline: 10, a: 2, b: 3, c: 4 };

function fake(calls: string[], onMeasure: (n: number) => void = () => {}): Measurer {
  const m: Measurer = {
    async build(c, out) {
      // a stand-in file per candidate: the fake measurer never loads it, resume checks its hash
      writeFileSync(out, `model ${c.label}`);
      return { records: [], sizeBytes: 100, sha256: createHash('sha256').update(`model ${c.label}`).digest('hex') };
    },
    async measure(_p, c, stage): Promise<Measurement> {
      calls.push(`${stage}:${c.label}`);
      onMeasure(calls.length);
      const samples = Array.from({ length: 80 }, (_, i) => MS[c.label]! * (1 + 0.01 * (i % 5)));
      const perItem = Array.from({ length: 12 }, () => 1);
      return {
        stage,
        latency: latencyFigures(samples),
        quality: {
          primary: { name: 'decision-agreement', value: 1, ci: [1, 1] },
          metrics: { 'decision-agreement': { value: 1, ci: [1, 1] }, 'expected-decision-agreement': { value: 1, ci: [1, 1] } },
          n: 12,
          perItem,
          source: 'agreement',
        },
        measuredAt: new Date().toISOString(),
        wallMs: 1,
      };
    },
  };
  return {
    ...m,
    async measureGroup(items, stage) {
      calls.push(`group:${stage}`);
      return Promise.all(items.map((it) => m.measure(it.modelPath, it.cfg, stage)));
    },
  };
}

test('an interrupted optimize writes the summary of what was measured and resumes on a rerun', async () => {
  const stop = new AbortController();
  const calls: string[] = [];
  const opts = { model, data, budget: [], quality: [], timeLimitMs: 600_000, out: join(dir, 'run'), configs: [baselineConfig(), cfg('a'), cfg('b'), cfg('c')] };
  // Ctrl-C while 'a' is screened (alongside the baseline): that measurement completes, nothing after it starts
  const r = await optimize({ ...opts, measurer: fake(calls, (n) => n === 5 && stop.abort('SIGINT')), signal: stop.signal });
  assert.deepEqual(calls, ['screen:baseline', 'full:baseline', 'group:screen', 'screen:baseline', 'screen:a']);
  assert.equal(r.summary.stoppedEarly, 'interrupted: SIGINT');
  assert.ok(r.summary.notes.some((n) => /^interrupted/.test(n)));
  const stored = JSON.parse(readFileSync(r.paths.summary, 'utf8'));
  assert.equal(stored.stoppedEarly, 'interrupted: SIGINT');
  assert.ok(existsSync(r.paths.report));
  // the rerun measures only what was not measured
  const again: string[] = [];
  const r2 = await optimize({ ...opts, measurer: fake(again) });
  assert.deepEqual(again.slice(0, 6), ['group:screen', 'screen:baseline', 'screen:b', 'group:screen', 'screen:baseline', 'screen:c'], again.join(' '));
  assert.equal(r2.summary.stoppedEarly, undefined);
});

test('interrupted during the full measurements: the choice stands on the search figures, no confirming measurement', async () => {
  const stop = new AbortController();
  const calls: string[] = [];
  const opts = { model, data, budget: [], quality: [], timeLimitMs: 600_000, out: join(dir, 'late'), configs: [baselineConfig(), cfg('a'), cfg('b')] };
  const r = await optimize({ ...opts, measurer: fake(calls, () => calls.at(-1) === 'full:a' && stop.abort('SIGINT')), signal: stop.signal });
  assert.equal(calls.filter((c) => c === 'group:full').length, 1, calls.join(' '));
  assert.equal(r.summary.candidates.find((c) => c.id === r.summary.chosen)?.config.label, 'a');
  assert.ok(r.summary.vsBaseline && r.summary.vsBaseline.rounds === undefined, 'figures of the search, not a confirming run');
  assert.ok(r.summary.notes.some((n) => /^interrupted/.test(n)));
});
