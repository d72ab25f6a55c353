import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { writeModel } from '../onnx/write-model.js';
import { UsageError } from '../onnx/errors.js';
import { optimize } from './optimize.js';
import { baselineConfig } from './space.js';
import { latencyFigures } from './stats.js';
import type { Measurer } from './strategy.js';
import type { CandidateConfig, Measurement } from './types.js';
import { featureSamples, sigmoidClassifier, writeNpy } from './test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-opt-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const model = join(dir, 'sig.onnx');
writeModel(sigmoidClassifier({ features: 8, hidden: 16 }), model);
const data = writeNpy(join(dir, 'x.npy'), featureSamples(40, 8), [40, 8]);

const fast: CandidateConfig = { label: 'fast', passes: [{ name: 'fake', params: {} }], session: { graphOptimizationLevel: 'all', disabledOptimizers: [] } };

/** A measurer with made-up figures: `ms` per label, decision agreement `q` per label. */
function fake(ms: Record<string, number>, q: Record<string, number>): Measurer {
  return {
    async build(c, out) {
      copyFileSync(model, out);
      const b = readFileSync(out);
      return { records: [], sizeBytes: b.length, sha256: createHash('sha256').update(b).update(c.label).digest('hex') };
    },
    async measure(_p, c, stage): Promise<Measurement> {
      const t = ms[c.label]!;
      const samples = Array.from({ length: 80 }, (_, i) => t * (1 + 0.01 * (i % 5)));
      const n = 12;
      const k = Math.round(q[c.label]! * n);
      const perItem = Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));
      const v = k / n;
      return {
        stage,
        latency: latencyFigures(samples),
        quality: {
          primary: { name: 'decision-agreement', value: v, ci: [v, v] },
          metrics: { 'decision-agreement': { value: v, ci: [v, v] }, 'expected-decision-agreement': { value: v, ci: [v, v] } },
          n,
          perItem,
          source: 'agreement',
        },
        measuredAt: new Date().toISOString(),
        wallMs: 1,
      };
    },
  };
}

const base = (out: string, extra: Partial<Parameters<typeof optimize>[0]> = {}) =>
  optimize({ model, budget: [], quality: [], timeLimitMs: 60_000, out: join(dir, out), configs: [baselineConfig(), fast], ...extra });

test('without --data, quality on random inputs recommends nothing unless --allow-random', async () => {
  const m = fake({ baseline: 10, fast: 2 }, { baseline: 1, fast: 1 });
  const r = await base('random', { measurer: m });
  assert.equal(r.summary.feasible, false, 'no recommendation');
  assert.match(r.summary.notRecommended ?? '', /random inputs only, which is not evidence/);
  assert.equal(r.summary.quality?.basis, 'random');
  assert.equal(r.paths.best, undefined);
  assert.ok(!existsSync(join(dir, 'random', 'best.onnx')));
  const ok = await base('random-allowed', { measurer: m, allowRandom: true });
  assert.equal(ok.summary.feasible, true);
  assert.ok(ok.paths.best && existsSync(ok.paths.best));
});

test('with --data: the default floor fits the output (a sigmoid score: decision agreement ≥ 0.99) and holds', async () => {
  const r = await base('data', { data, measurer: fake({ baseline: 10, fast: 2 }, { baseline: 1, fast: 11 / 12 }) });
  assert.equal(r.summary.quality?.basis, 'data');
  assert.equal(r.summary.quality?.defaultFloor, 'decision-agreement>=0.99, expected-decision-agreement>=0.99');
  assert.equal(r.summary.quality?.holdout?.length, 12, '30% of 40 held out');
  assert.equal(r.summary.feasible, false, 'fast flips 1 decision in 12: below the floor, never recommended');
  const good = await base('data-good', { data, measurer: fake({ baseline: 10, fast: 2 }, { baseline: 1, fast: 1 }) });
  assert.equal(good.summary.feasible, true);
  assert.equal(good.summary.vsBaseline?.beyondNoise, true);
  const ladder = JSON.parse(readFileSync(join(dir, 'data-good', 'ladder.json'), 'utf8'));
  assert.deepEqual(
    ladder.rungs.map((x: { label: string }) => x.label),
    ['fast'],
    'fast dominates the source (as fast or faster, as accurate)',
  );
});

test('a choice within the noise of the source is not recommended', async () => {
  const r = await base('noise', { data, measurer: fake({ baseline: 10, fast: 10 }, { baseline: 1, fast: 1 }) });
  assert.equal(r.summary.feasible, false);
  assert.match(r.summary.notRecommended ?? '', /not faster than the source beyond the noise|nothing beats the source/);
});

test('a quality metric the outputs cannot give is refused before the run directory exists', async () => {
  await assert.rejects(
    base('cer', { data, quality: ['cer<=+1pt'], measurer: fake({ baseline: 1, fast: 1 }, { baseline: 1, fast: 1 }) }),
    (e: unknown) => e instanceof UsageError && /--quality cer<=\+1pt/.test(e.message) && /needs a text task/.test(e.hint ?? ''),
  );
  assert.ok(!existsSync(join(dir, 'cer')));
});
