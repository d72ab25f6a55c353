import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import type { CandidateConfig } from '../types.js';
import { breadthFirst, familyOf } from './order.js';

const session = { graphOptimizationLevel: 'all' as const, disabledOptimizers: [] };
const cfg = (label: string, ...names: string[]): CandidateConfig => ({ label, passes: names.map((name) => ({ name, params: {} })), session });

test('breadthFirst: every family once before any second variant; space order kept within a round', () => {
  const space: Record<string, CandidateConfig> = {
    ext: cfg('fp32 opt=extended'),
    d1: cfg('dyn', 'constants-to-initializers', 'quantize-dynamic'),
    d2: cfg('dyn b', 'constants-to-initializers', 'quantize-dynamic'),
    d3: cfg('dyn c', 'constants-to-initializers', 'quantize-dynamic'),
    i1: cfg('int4', 'quantize-int4'),
    i2: cfg('int4 b', 'quantize-int4'),
    s1: cfg('static', 'quantize-static'),
    c1: cfg('clean → static', 'clean-fp32', 'quantize-static'),
    s2: cfg('static no-MatMulAddFusion', 'quantize-static'),
    p1: cfg('pruned', 'prune-structured', 'recover'),
    p2: cfg('pruned b', 'prune-structured', 'recover'),
    m1: cfg('magnitude', 'prune-magnitude', 'recover'),
  };
  const order = breadthFirst(Object.keys(space), (id) => space[id]!);
  assert.deepEqual(order, ['ext', 'd1', 'i1', 's1', 'c1', 'p1', 'm1', 'd2', 'i2', 's2', 'p2', 'd3']);
  assert.equal(familyOf(space.ext!), 'fp32');
  assert.equal(familyOf(space.d1!), 'quantize-dynamic', 'prep passes are no family');
  assert.equal(familyOf(space.c1!), 'clean-fp32 → quantize-static', 'a chain is its own family');
  assert.deepEqual(
    breadthFirst([], () => space.ext!),
    [],
  );
});

test('a search short of time screens static int8 before the third dynamic variant', async () => {
  const { parseConstraints } = await import('../constraints.js');
  const { baselineConfig } = await import('../space.js');
  const { search } = await import('../strategy.js');
  const { memDir, PASSES, world } = await import('../chains.test-world.js');
  const w = world();
  const dyn = (k: number): CandidateConfig => ({ label: `dyn ${k}`, passes: [{ name: 'quantize-dynamic', params: { k } }], session });
  const out = await search({
    configs: [baselineConfig(), dyn(1), dyn(2), dyn(3), cfg('static', 'quantize-static')],
    measurer: w.measurer,
    runDir: memDir(),
    constraints: parseConstraints('exact>=-3pt'),
    objective: 'p99',
    // room for the baseline and two screenings (fake world: 20 s baseline, 5 s a screening, the full reserve)
    timeLimitMs: 80_000,
    passes: PASSES,
    now: () => w.clock.t,
  });
  const screened = out.results.filter((r) => r.screen).map((r) => r.config.label);
  assert.deepEqual(screened, ['baseline', 'dyn 1', 'static'], out.stoppedEarly);
});
