import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { StageCostModel } from './cost-model.js';

const kind = (n: string) => (n === 'recover' ? ('train' as const) : ('transform' as const));
const step = (name: string, steps?: number) => ({ name, params: steps ? { steps } : {} });

test('predictions: priors first, then the mean per stage name and the mean per training step; cached steps cost nothing', () => {
  const m = new StageCostModel(kind, { transformMs: 3000, trainStepMs: 50 });
  const chain = [step('prune'), step('recover', 200), step('quantize-static')];
  assert.deepEqual(m.predict(chain), { transformMs: 6000, trainMs: 10_000, uncached: [0, 1, 2] });
  m.observe(step('prune'), 1000);
  m.observe(step('prune'), 3000);
  m.observe(step('recover', 100), 20_000); // 200 ms a step
  m.observe(step('recover', 400), 90_000, 100); // resumed at step 100: 300 steps in 90 s, 300 ms a step
  assert.equal(m.stepMs(step('prune')), 2000);
  assert.equal(m.stepMs(step('recover', 10)), 10 * (110_000 / 400));
  assert.ok(m.knows('recover') && !m.knows('quantize-static'));
  assert.deepEqual(m.predict(chain, [true, false, false]), { transformMs: 3000, trainMs: 200 * 275, uncached: [1, 2] });
  assert.deepEqual(m.predict(chain, [true, true, true]), { transformMs: 0, trainMs: 0, uncached: [] });
});

test('the training prior scales with the source model: 20 inferences per sample of a batch of 16, never below the given prior', () => {
  const m = new StageCostModel(() => 'train', { transformMs: 1000, trainStepMs: 500 });
  m.priorFromInference(20);
  assert.equal(m.stepMs({ name: 'recover', params: { steps: 10 } }), 10 * 20 * 16 * 20);
  const tiny = new StageCostModel(() => 'train', { transformMs: 1000, trainStepMs: 500 });
  tiny.priorFromInference(0.01);
  assert.equal(tiny.stepMs({ name: 'recover', params: { steps: 10 } }), 5000);
});
