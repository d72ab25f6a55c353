// The declarative space: searched values (numbers included), the declared keep-float parameter, roles,
// and the initial prune → recover chains and chain plan built from those declarations.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { Pass } from '../passes/pass.js';
import { chainPlan } from './schedule/plan.js';
import { buildSpace, effectVariants, excludeParam, paramVariants, roleOf, stepRungs } from './space.js';

const base = { description: '', tolerance: { metric: 'cosine' as const, value: 0.9 }, run: async () => Promise.reject(new Error('not run')) };
const prune: Pass = {
  ...base,
  name: 'prune-structured',
  params: {
    ratio: { type: 'number', default: 0, description: '', search: { values: [0.25, 0.5] } },
    scope: { type: 'enum', values: ['layer', 'global'], default: 'layer', description: '' },
  },
  effect: { params: { ratio: 0.5 }, why: '' },
};
const recover: Pass = {
  ...base,
  name: 'recover',
  role: 'train',
  params: {
    steps: { type: 'integer', default: 100, description: '', search: { values: [400, 100, 1600] } },
    lr: { type: 'number', default: 1e-4, description: '' },
  },
};
const qat: Pass = { ...base, name: 'qat', role: 'train', needsCalibration: true, params: { steps: { type: 'integer', default: 300, description: '' } } };
const stat: Pass = {
  ...base,
  name: 'quantize-static',
  needsCalibration: true,
  keepFloatParam: 'nodes',
  params: {
    method: { type: 'enum', values: ['minmax', 'entropy'], default: 'minmax', description: '' },
    nodes: { type: 'string[]', default: [], description: '' },
    exclude: { type: 'string[]', default: [], description: '' },
  },
};
const dyn: Pass = { ...base, name: 'quantize-dynamic', params: { keepBias: { type: 'boolean', default: false, description: '', search: { values: [true] } } } };

test('searched values: numbers declared with search.values are searched; a declared pass loses the name heuristics', () => {
  assert.deepEqual(
    paramVariants(prune, 10).map((v) => v.tag),
    ['', 'ratio=0.25', 'ratio=0.5', 'scope=global'],
  );
  // 'keepBias' would be skipped by the keep/exclude name heuristic; declared, it is searched
  assert.deepEqual(
    paramVariants(dyn, 10).map((v) => v.tag),
    ['', 'keepBias=true'],
  );
  assert.deepEqual(
    effectVariants(prune, 10).map((v) => v.params),
    [{ ratio: 0.25 }, { ratio: 0.5 }],
  );
  // without declared values, the effect parameters themselves
  const bare = { ...prune, params: { ratio: { type: 'number' as const, default: 0, description: '' } } };
  assert.deepEqual(
    effectVariants(bare, 10).map((v) => v.tag),
    ['ratio=0.5'],
  );
});

test('the keep-float parameter is the declared one, not the one its name suggests; roles from the declaration', () => {
  assert.equal(excludeParam(stat), 'nodes');
  assert.equal(excludeParam({ ...stat, keepFloatParam: 'method' }), undefined, 'only a string list can hold node names');
  assert.equal(excludeParam({ ...stat, keepFloatParam: undefined }), 'exclude');
  assert.equal(roleOf(recover), 'train');
  assert.equal(roleOf({ ...base, name: 'x', params: {}, prep: true }), 'prep');
  assert.equal(roleOf(dyn), 'transform');
  assert.deepEqual(stepRungs(recover), [100, 400, 1600]);
  assert.deepEqual(stepRungs(qat), [300, 1200]);
});

test('the space: single transforms, then prune → recover{short} for each searched ratio; training stages are never candidates alone', () => {
  const labels = (passes: Pass[], hasCalibration = true) => buildSpace({ passes, sourceOpset: 17, hasCalibration }).map((c) => c.label);
  assert.deepEqual(labels([dyn, prune, recover, qat]), [
    'baseline',
    'fp32 opt=extended',
    'quantize-dynamic',
    'quantize-dynamic keepBias=true',
    'prune-structured ratio=0.25 → recover 100',
    'prune-structured ratio=0.5 → recover 100',
  ]);
  const chain = buildSpace({ passes: [dyn, prune, recover], sourceOpset: 17, hasCalibration: true }).at(-1)!;
  assert.deepEqual(chain.passes, [
    { name: 'prune-structured', params: { ratio: 0.5 } },
    { name: 'recover', params: { steps: 100 } },
  ]);
  // a short run builds one prune chain per pass: the first searched value (the mildest cut)
  assert.deepEqual(
    buildSpace({ passes: [prune, recover], sourceOpset: 17, hasCalibration: true, prunePerPass: 1 })
      .filter((c) => c.label.includes('→'))
      .map((c) => c.label),
    ['prune-structured ratio=0.25 → recover 100'],
  );
  // a pass's declared searchParams ride on every variant the search builds of it
  const taylor = buildSpace({ passes: [{ ...prune, searchParams: { method: 'taylor' } }, recover], sourceOpset: 17, hasCalibration: true }).at(-1)!;
  assert.deepEqual(taylor.passes[0], { name: 'prune-structured', params: { method: 'taylor', ratio: 0.5 } });
  // no recover stage registered (or skipped): no pruning at all
  assert.deepEqual(labels([dyn, prune]), ['baseline', 'fp32 opt=extended', 'quantize-dynamic', 'quantize-dynamic keepBias=true']);
  assert.ok(!buildSpace({ passes: [dyn, prune, recover], sourceOpset: 17, hasCalibration: true, skip: ['recover'] }).some((c) => c.label.includes('→')));
  // a source the training stages cannot feed (token ids, a recurrent state): no training chains either
  assert.ok(!buildSpace({ passes: [dyn, prune, recover], sourceOpset: 17, hasCalibration: true, trainable: false }).some((c) => c.label.includes('→')));
  const untrainable = chainPlan({ passes: [stat, prune, recover, qat], sourceOpset: 17, hasCalibration: true, trainable: false, timeLimitMs: 60 * 60_000 });
  assert.equal(untrainable.recover, undefined);
  assert.equal(untrainable.qat, undefined);
});

test('the chain plan: quantizers, the static-int8 ones for QAT, recovery rungs, the depth of the time limit', () => {
  const quick = chainPlan({ passes: [dyn, stat, prune, recover, qat], sourceOpset: 17, hasCalibration: true, timeLimitMs: 15 * 60_000 });
  assert.deepEqual(
    quick.quantizers.map((q) => q.name),
    ['quantize-dynamic', 'quantize-static'],
  );
  assert.deepEqual(quick.qdq, ['quantize-static']);
  assert.deepEqual(quick.recover, { name: 'recover', rungs: [100, 400, 1600] });
  assert.deepEqual(quick.qat, { name: 'qat', steps: 300 });
  // a QAT stage that can learn its scales says so in the plan
  const lsqQat: Pass = { ...qat, params: { ...qat.params, lsq: { type: 'boolean', default: false, description: '' } } };
  assert.deepEqual(chainPlan({ passes: [stat, prune, recover, lsqQat], sourceOpset: 17, hasCalibration: true, timeLimitMs: 15 * 60_000 }).qat, {
    name: 'qat',
    steps: 300,
    lsq: true,
  });
  assert.deepEqual(quick.depth, { name: 'quick', rounds: 1, halving: false, qat: false });
  const deep = chainPlan({ passes: [dyn, stat, prune, recover, qat], sourceOpset: 17, hasCalibration: false, timeLimitMs: 60 * 60_000 });
  assert.deepEqual(deep.depth, { name: 'deep', rounds: 3, halving: true, qat: true });
  assert.deepEqual(
    deep.quantizers.map((q) => q.name),
    ['quantize-dynamic'],
    'calibrated passes need data',
  );
  assert.equal(deep.qat, undefined, 'QAT needs data');
});
