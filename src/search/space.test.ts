import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { Pass } from '../passes/pass.js';
import { PASSES } from '../passes/registry.js';
import { baselineConfig, buildSpace, configId, exclusionVariants, paramVariants } from './space.js';

const pass = (name: string, params: Pass['params'], needsCalibration = false): Pass => ({
  name,
  description: name,
  params,
  tolerance: { metric: 'cosine', value: 0.9 },
  needsCalibration,
  run: async () => {
    throw new Error('not run');
  },
});

const dyn = pass('quantize-dynamic', {
  form: { type: 'enum', values: ['fused', 'integer'], default: 'fused', description: '' },
  perChannel: { type: 'boolean', default: true, description: '' },
  exclude: { type: 'string[]', default: [], description: '' },
  minWeightElements: { type: 'integer', default: 0, description: '' },
});
const stat = pass(
  'quantize-static',
  {
    method: { type: 'enum', values: ['minmax', 'percentile', 'entropy'], default: 'minmax', description: '' },
    exclude: { type: 'string[]', default: [], description: '' },
  },
  true,
);
const prep = [pass('constants-to-initializers', {}), pass('upgrade-opset', { target: { type: 'integer', default: 17, description: '' } })];

test('parameter variants: defaults first, then enum and boolean values one at a time; lists and numbers left alone', () => {
  assert.deepEqual(
    paramVariants(dyn, 10).map((v) => v.tag),
    ['', 'form=integer', 'perChannel=false'],
  );
  assert.deepEqual(
    paramVariants(stat, 2).map((v) => v.params),
    [{}, { method: 'percentile' }],
  );
});

test('the space: baseline first, session settings, prep passes before quantization of an old opset, calibration-only passes need data', () => {
  const old = buildSpace({ passes: [...prep, dyn, stat], sourceOpset: 11, hasCalibration: false });
  assert.equal(old[0]!.label, 'baseline');
  assert.deepEqual(old[0]!.passes, []);
  assert.ok(old.some((c) => c.session.graphOptimizationLevel === 'extended'));
  assert.ok(old.some((c) => c.label === 'fp32 opset17'));
  assert.ok(!old.some((c) => c.passes.some((p) => p.name === 'quantize-static')), 'static needs calibration');
  const q = old.find((c) => c.label === 'quantize-dynamic')!;
  assert.deepEqual(
    q.passes.map((p) => p.name),
    ['constants-to-initializers', 'upgrade-opset', 'quantize-dynamic'],
  );
  const modern = buildSpace({
    passes: [...prep, dyn, stat],
    sourceOpset: 17,
    hasCalibration: true,
    sensitivity: {
      metric: 'cosine',
      rows: [
        { node: 'a', opType: 'Conv', delta: 0.2 },
        { node: 'b', opType: 'Conv', delta: 0.1 },
        { node: 'c', opType: 'Conv', delta: 0 },
      ],
    },
  });
  assert.ok(!modern.some((c) => c.passes.some((p) => p.name === 'upgrade-opset')));
  assert.ok(modern.some((c) => c.session.disabledOptimizers.includes('MatMulAddFusion')));
  assert.ok(modern.some((c) => JSON.stringify(c.passes.at(-1)?.params) === JSON.stringify({ exclude: ['a'] })));
  // Ids are unique and stable.
  const ids = modern.map(configId);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(
    buildSpace({ passes: [...prep, dyn, stat], sourceOpset: 17, hasCalibration: true }).map(configId),
    buildSpace({ passes: [...prep, dyn, stat], sourceOpset: 17, hasCalibration: true }).map(configId),
  );
  assert.notEqual(configId(baselineConfig()), configId({ ...baselineConfig(), session: { graphOptimizationLevel: 'basic', disabledOptimizers: [] } }));
});

test('exclusion variants keep the k most sensitive nodes in float', () => {
  const base = {
    label: 'quantize-static',
    passes: [{ name: 'quantize-static', params: { method: 'entropy' } }],
    session: { graphOptimizationLevel: 'all' as const, disabledOptimizers: [] },
  };
  const v = exclusionVariants(base, stat, ['n1', 'n2', 'n3'], [1, 3, 9]);
  assert.deepEqual(
    v.map((c) => c.passes[0]!.params),
    [
      { method: 'entropy', exclude: ['n1'] },
      { method: 'entropy', exclude: ['n1', 'n2', 'n3'] },
    ],
  );
  assert.deepEqual(exclusionVariants(base, dyn, [], [1]), []);
});

test('the registered passes give a space with every transforming pass in it, and no prep or recovery-needing pass alone', () => {
  const space = buildSpace({ passes: PASSES, sourceOpset: 9, hasCalibration: true });
  for (const p of PASSES) {
    // alone: in a candidate with no training stage after it (a prune → recover chain is not alone)
    const alone = space.some((c) => {
      const at = c.passes.findIndex((s) => s.name === p.name);
      return at >= 0 && !c.passes.slice(at + 1).some((s) => PASSES.find((q) => q.name === s.name)?.role === 'train');
    });
    if (['constants-to-initializers', 'upgrade-opset'].includes(p.name)) continue;
    // training stages join chains (recover after pruning here; qat as an extension after screening)
    if (p.role === 'train') continue;
    if (p.prep || p.effect) assert.ok(!alone, `${p.name} is a candidate of its own, but it ${p.prep ? 'only prepares' : 'needs a recovery stage'}`);
    else assert.ok(alone, `${p.name} missing from the space`);
  }
  assert.ok(PASSES.some((p) => p.effect) && PASSES.some((p) => p.prep), 'the table has both kinds, so the rule above is exercised');
  assert.ok(
    space.some((c) =>
      c.passes
        .map((s) => s.name)
        .join(' ')
        .includes('prune-structured recover'),
    ),
    'pruning enters the space as prune → recover chains',
  );
});

test('nodes kept float go to a keepFloat list when the pass has one, else to exclude', () => {
  const both = pass(
    'quantize-static',
    { exclude: { type: 'string[]', default: [], description: '' }, keepFloat: { type: 'string[]', default: [], description: '' } },
    true,
  );
  const base = { label: 's', passes: [{ name: 'quantize-static', params: {} }], session: { graphOptimizationLevel: 'all' as const, disabledOptimizers: [] } };
  assert.deepEqual(exclusionVariants(base, both, ['n1'], [1])[0]!.passes[0]!.params, { keepFloat: ['n1'] });
  assert.deepEqual(
    paramVariants(both, 5).map((v) => v.tag),
    [''],
  );
});

test('the space tries calibrated quantizers after each exact rewrite too, and trains for no unstructured sparsity', () => {
  const space = buildSpace({ passes: PASSES, sourceOpset: 9, hasCalibration: true, skip: ['prune-classes'] });
  const chains = space.map((c) => c.passes.map((s) => s.name).join(' '));
  assert.ok(
    chains.some((c) => c.endsWith('clean-fp32 quantize-static')),
    'clean-fp32 → quantize-static',
  );
  assert.ok(
    chains.some((c) => c.endsWith(' quantize-static') && !c.includes('clean-fp32')),
    'quantize-static alone, to compare',
  );
  assert.ok(!chains.some((c) => c.includes('prune-magnitude')), 'no recovery is spent on sparsity that ORT cannot run faster');
  const noCal = buildSpace({ passes: PASSES, sourceOpset: 9, hasCalibration: false });
  assert.ok(!noCal.some((c) => c.passes.some((s) => s.name === 'quantize-static')), 'without calibration data, no calibrated quantizer');
});

test('the space tries calibrated quantizers after the exact rewrites and the task-fitting ones together (clean-fp32 → prune-classes → …)', () => {
  const space = buildSpace({ passes: PASSES, sourceOpset: 9, hasCalibration: true });
  const chains = space.map((c) => c.passes.map((s) => s.name).join(' '));
  assert.ok(chains.some((c) => c.endsWith('clean-fp32 prune-classes quantize-static')));
  assert.ok(
    !chains.some((c) => c.endsWith('clean-fp32 quantize-static')),
    'in place of the exact prefix alone: one more variant each would cost the full measurements time',
  );
  assert.ok(
    chains.some((c) => c.endsWith('upgrade-opset quantize-static')),
    'the quantizer without any prefix stays, to compare',
  );
  assert.ok(
    chains.some((c) => c.endsWith(' prune-classes')),
    'prune-classes alone, in fp32',
  );
  assert.ok(
    !chains.some((c) => /prune-classes quantize-dynamic|prune-classes clean-fp32/.test(c)),
    'only before the calibrated quantizers, after the exact rewrites',
  );
  const skipped = buildSpace({ passes: PASSES, sourceOpset: 9, hasCalibration: true, skip: ['prune-classes'] });
  assert.ok(!skipped.some((c) => c.passes.some((s) => s.name === 'prune-classes')));
  const noCal = buildSpace({ passes: PASSES, sourceOpset: 9, hasCalibration: false });
  assert.ok(!noCal.some((c) => c.passes.some((s) => s.name === 'prune-classes')), 'it reads the task from calibration data');
});
