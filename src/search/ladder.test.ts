// ladder.json across chains: the front over every measured candidate, single passes and chains alike,
// most accurate first, fastest last, with each rung's latency distribution and quality.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { parseConstraints } from './constraints.js';
import { buildLadder } from './ladder.js';
import { chainPlan } from './schedule/plan.js';
import { buildSpace } from './space.js';
import { search } from './strategy.js';
import type { Summary } from './types.js';
import { memDir, PASSES, world } from './chains.test-world.js';

test('the ladder spans every chain: the Pareto-optimal measured models, most accurate to fastest', async () => {
  const w = world();
  const space = { passes: PASSES, sourceOpset: 17, hasCalibration: true };
  const out = await search({
    configs: buildSpace(space),
    measurer: w.measurer,
    runDir: memDir(),
    constraints: parseConstraints('exact>=-3pt'),
    objective: 'p99',
    timeLimitMs: 1500_000,
    passes: PASSES,
    chains: chainPlan({ ...space, timeLimitMs: 3_600_000 }),
    now: () => w.clock.t,
  });
  const summary = { objective: 'p99', candidates: out.results } as unknown as Summary;
  const ladder = buildLadder(summary, '/mem', (id) => `/mem/${id}/model.onnx`);
  const rungs = ladder.rungs;
  assert.ok(rungs.length >= 3);
  // most accurate first, each rung faster than the one before
  for (let i = 1; i < rungs.length; i++) {
    assert.ok(rungs[i]!.quality.value <= rungs[i - 1]!.quality.value, `${rungs[i]!.label} after ${rungs[i - 1]!.label}`);
    assert.ok(rungs[i]!.latency.p99 < rungs[i - 1]!.latency.p99, `${rungs[i]!.label} is faster than ${rungs[i - 1]!.label}`);
  }
  // chains several stages long are on it (extensions included), and no measured candidate dominates a rung
  assert.ok(rungs.some((r) => r.label.includes('→ qat')));
  const measured = out.results.filter((r) => r.status === 'ok' && !r.identicalTo && (r.full ?? r.screen));
  for (const rung of rungs)
    for (const c of measured) {
      const m = (c.full ?? c.screen)!;
      const better = m.latency.p99 <= rung.latency.p99 && m.quality.primary.value >= rung.quality.value;
      const strictly = m.latency.p99 < rung.latency.p99 || m.quality.primary.value > rung.quality.value;
      assert.ok(!(better && strictly), `${c.config.label} dominates rung ${rung.label}`);
    }
  assert.equal(rungs[0]!.path, `${rungs[0]!.id}/model.onnx`);
  assert.ok(rungs.every((r) => r.latency.p50 <= r.latency.p99 && r.quality.ci[0] <= r.quality.value));
});
