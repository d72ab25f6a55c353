// The steps of a search, each alone on a hand-made context: screening under the time left (a training
// chain predicted not to fit is skipped, a cheaper candidate after it still screened), and the chain
// states extension reads (near the front, what each misses).
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { parseConstraints } from '../constraints.js';
import type { Progress } from '../progress.js';
import { baselineConfig } from '../space.js';
import { memDir, PASSES, world } from '../chains.test-world.js';
import type { CandidateConfig } from '../types.js';
import { createContext } from './context.js';
import { chainStates } from './extend.js';
import { measureBaseline, screenAll } from './screen.js';
import { promisingOf } from './full.js';

const session = { graphOptimizationLevel: 'all' as const, disabledOptimizers: [] };
const chain: CandidateConfig = {
  label: 'pruned',
  passes: [
    { name: 'prune-structured', params: { ratio: 0.5 } },
    { name: 'recover', params: { steps: 100 } },
  ],
  session,
};
const quant: CandidateConfig = { label: 'dyn', passes: [{ name: 'quantize-dynamic', params: {} }], session };

function ctxFor(limitMs: number) {
  const w = world();
  const logs: string[] = [];
  const ctx = createContext({
    configs: [baselineConfig(), chain, quant],
    measurer: w.measurer,
    runDir: memDir(),
    constraints: parseConstraints('exact>=-3pt'),
    objective: 'p99',
    timeLimitMs: limitMs,
    passes: PASSES,
    stagePriors: { transformMs: 2000, trainStepMs: 1000 },
    now: () => w.clock.t,
    progress: { log: (l: string) => logs.push(l), status: () => {}, done: () => {} } as unknown as Progress,
  });
  return { w, ctx, logs };
}

test('screenAll: a training chain predicted not to fit is skipped; the cheaper candidate after it is screened', async () => {
  // baseline: 20 s; then 100 s of training + 5 s would not fit in 90 s less the reserve, 7 s does
  const { ctx, logs } = ctxFor(110_000);
  await measureBaseline(ctx);
  const skipped = await screenAll(ctx, ctx.ids.slice(1));
  assert.equal(skipped, 1);
  assert.ok(logs.includes('  pruned: not started: its training is predicted to take 100 s, more than the time left allows'), logs.join('\n'));
  assert.ok(ctx.results.get(ctx.ids[2]!)?.screen, 'dyn screened');
  assert.equal(ctx.results.get(ctx.ids[1]!), undefined);
  assert.equal(ctx.stoppedEarly, 'time limit: 1 of 2 candidates not screened');
  // with room for it, the chain is built and its training is not charged to the screening average (2 s pruning + 5 s)
  const roomy = ctxFor(600_000);
  await measureBaseline(roomy.ctx);
  await screenAll(roomy.ctx, roomy.ctx.ids.slice(1));
  assert.deepEqual(roomy.ctx.cost.screen, [5000, 7000, 7000]);
  assert.equal(roomy.ctx.stages.stepMs({ name: 'recover', params: { steps: 10 } }), 10_000);
});

test('chainStates: near the front or not, and the kinds of constraint each chain misses at screening', async () => {
  const { ctx } = ctxFor(600_000);
  await measureBaseline(ctx);
  await screenAll(ctx, ctx.ids.slice(1));
  const [base, pruned, dyn] = ctx.ids.map((id) => ctx.results.get(id)!);
  const states = chainStates(ctx, [base!, pruned!, dyn!], [pruned!, dyn!], 0.1);
  // pruned: 5.2 ms at 0.85 (misses 0.87), dyn: 8.3 ms at 0.90: both on the front
  assert.deepEqual(
    states.map((s) => [s.cfg.label, s.nearFront, s.misses]),
    [
      ['pruned', true, ['quality']],
      ['dyn', true, []],
    ],
  );
  // successive halving: the best chain of the round that ends in a training stage is marked, no other
  assert.deepEqual(
    states.map((s) => s.betterHalf === true),
    [true, false],
  );
});

test('promisingOf: candidates that met every constraint at screening go to full measurement before faster ones that missed', async () => {
  const { ctx } = ctxFor(600_000);
  await measureBaseline(ctx);
  await screenAll(ctx, ctx.ids.slice(1));
  const [, pruned, dyn] = ctx.ids.map((id) => ctx.results.get(id)!);
  // pruned is the faster (5.2 ms) but misses the quality floor at screening; dyn (8.3 ms) meets it
  assert.deepEqual(
    promisingOf(ctx, [pruned!, dyn!]).map((r) => r.config.label),
    ['dyn', 'pruned'],
  );
});
