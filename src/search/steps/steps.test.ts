// The steps of a search, each alone on a hand-made context: screening under the time left (a training
// chain predicted not to fit is skipped, a cheaper candidate after it still screened), and the chain
// states extension reads (near the front, what each misses).
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { parseConstraints } from '../constraints.js';
import type { Progress } from '../progress.js';
import { baselineConfig } from '../space.js';
import { memDir, PASSES, world } from '../chains.test-world.js';
import type { CandidateConfig, CandidateResult } from '../types.js';
import { createContext, left, perFull, perScreen, timeLeft } from './context.js';
import { chainStates, type Potential } from './extend.js';
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

function ctxFor(limitMs: number, configs: CandidateConfig[] = [baselineConfig(), chain, quant]) {
  const w = world();
  const logs: string[] = [];
  const ctx = createContext({
    configs,
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

test('the time a search plans with: 10 s a screening and 4 screenings a full measurement until measured, less afterFull of them', () => {
  const { w, ctx } = ctxFor(600_000);
  assert.equal(perScreen(ctx), 10_000);
  assert.equal(perFull(ctx), 40_000);
  ctx.cost.screen.push(4000, 8000);
  assert.equal(perScreen(ctx), 6000);
  assert.equal(perFull(ctx), 24_000, 'four screenings until a full measurement was timed');
  ctx.cost.full.push(20_000, 30_000);
  assert.equal(perFull(ctx), 25_000);
  w.clock.t += 100_000;
  assert.equal(timeLeft(ctx), 500_000);
  assert.equal(left(ctx), 500_000, 'no reserve by default');
  ctx.opts.afterFull = 2;
  assert.equal(left(ctx), 450_000, 'two full measurements kept for after the search');
  assert.equal(timeLeft(ctx), 500_000, 'the progress lines still show the whole time left');
});

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

test('chainStates: a chain not quantized yet is judged at the latency it could reach once quantized, the others at their own', async () => {
  const magnitude: CandidateConfig = {
    label: 'magnitude',
    passes: [
      { name: 'prune-magnitude', params: { ratio: 0.5 } },
      { name: 'recover', params: { steps: 100 } },
    ],
    session,
  };
  const { ctx } = ctxFor(600_000, [baselineConfig(), chain, magnitude, quant]);
  await measureBaseline(ctx);
  await screenAll(ctx, ctx.ids.slice(1));
  const [base, pruned, mag, dyn] = ctx.ids.map((id) => ctx.results.get(id)!) as CandidateResult[];
  const pool = [base!, pruned!, mag!, dyn!];
  const near = (potential?: (r: CandidateResult) => Potential | undefined) => chainStates(ctx, pool, [mag!], 0, potential)[0]!.nearFront;
  const only = (p: Potential) => (r: CandidateResult) => (r.id === mag!.id ? p : undefined);
  // magnitude: 9.5 ms at 0.880, dominated by dyn (8 ms at 0.896) as it is
  assert.equal(near(), false);
  // quantized as dyn quantized the source (0.8x, no loss) it would be 7.6 ms at 0.880: on the front
  assert.equal(near(only({ latencyRatio: 0.8, qualityLoss: 0 })), true);
  // 0.86x: 8.2 ms, still behind dyn
  assert.equal(near(only({ latencyRatio: 0.86, qualityLoss: 0 })), false);
  // with the quality quantizing cost the source, 7.6 ms at 0.840: the pruned chain (5.2 ms at 0.85) dominates it
  assert.equal(near(only({ latencyRatio: 0.8, qualityLoss: 0.04 })), false);
  // only the judged chain moves: with a potential for every chain, dyn (6.4 ms at 0.896 if moved) is held at its own 8 ms
  assert.equal(
    near(() => ({ latencyRatio: 0.8, qualityLoss: 0 })),
    true,
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
