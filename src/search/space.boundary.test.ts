// The candidate space exactly: every label in order for a known set of passes, the opset edge at which
// an upgrade is added, the most sensitive nodes (first in the ranking) kept in float, and the ids.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import type { Pass } from '../passes/pass.js';
import { MIN_QUANT_OPSET, PREP_PASSES, UPGRADE_TARGET, baselineConfig, buildSpace, configId, excludeParam, exclusionVariants, paramVariants } from './space.js';
import type { CandidateConfig } from './types.js';

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
const list = { type: 'string[]' as const, default: [], description: '' };
const dyn = pass('quantize-dynamic', {
  form: { type: 'enum', values: ['fused', 'integer'], default: 'fused', description: '' },
  perChannel: { type: 'boolean', default: true, description: '' },
  exclude: list,
});
const stat = pass(
  'quantize-static',
  { method: { type: 'enum', values: ['minmax', 'percentile', 'entropy'], default: 'minmax', description: '' }, keepFloat: list },
  true,
);
const prep = [pass('constants-to-initializers', {}), pass('upgrade-opset', { target: { type: 'integer', default: 17, description: '' } })];
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ node: `n${i}`, opType: 'Conv', delta: 1 - i / 100 }));

test('the constants: prep passes, the opset quantizers need, the upgrade target', () => {
  assert.deepEqual([...PREP_PASSES], ['constants-to-initializers', 'upgrade-opset']);
  assert.equal(MIN_QUANT_OPSET, 13);
  assert.equal(UPGRADE_TARGET, 17);
});

test('ids: a slug of the label and 8 hex digits of the hash of passes and session', () => {
  const cfg: CandidateConfig = {
    label: '  Int8 Dynamic!! ',
    passes: [{ name: 'q', params: { a: 1 } }],
    session: { graphOptimizationLevel: 'all', disabledOptimizers: [] },
  };
  const h = createHash('sha256')
    .update(JSON.stringify({ p: cfg.passes, s: cfg.session }))
    .digest('hex')
    .slice(0, 8);
  assert.equal(configId(cfg), `int8-dynamic-${h}`);
  assert.equal(configId({ ...cfg, label: '!!!' }), `candidate-${h}`);
  assert.equal(configId({ ...cfg, label: '-a--b-' }), `a-b-${h}`);
  assert.equal(configId({ ...cfg, label: 'x'.repeat(50) }), `${'x'.repeat(40)}-${h}`);
  // The label does not change the hash; the passes and the session do.
  assert.ok(configId({ ...cfg, label: 'y' }).endsWith(h));
  assert.notEqual(configId({ ...cfg, passes: [] }).slice(-8), h);
  assert.notEqual(configId({ ...cfg, session: { graphOptimizationLevel: 'all', disabledOptimizers: ['X'] } }).slice(-8), h);
  assert.deepEqual(baselineConfig(), { label: 'baseline', passes: [], session: { graphOptimizationLevel: 'all', disabledOptimizers: [] } });
});

test('parameter variants: enum values other than the default, the flipped boolean, lists and sizes left alone, capped at max (at least 1)', () => {
  const p = pass('p', {
    mode: { type: 'enum', values: ['a', 'b', 'c'], default: 'b', description: '' },
    flag: { type: 'boolean', description: '' },
    on: { type: 'boolean', default: true, description: '' },
    blockSize: { type: 'enum', values: ['32', '64'], default: '32', description: '' },
    keepNodes: { type: 'boolean', default: false, description: '' },
    ExcludeOps: { type: 'boolean', default: false, description: '' },
    bits: { type: 'integer', default: 8, description: '' },
    name: { type: 'string', default: 'x', description: '' },
    noValues: { type: 'enum', default: 'x', description: '' },
  });
  assert.deepEqual(paramVariants(p, 10), [
    { params: {}, tag: '' },
    { params: { mode: 'a' }, tag: 'mode=a' },
    { params: { mode: 'c' }, tag: 'mode=c' },
    { params: { flag: true }, tag: 'flag=true' },
    { params: { on: false }, tag: 'on=false' },
  ]);
  assert.equal(paramVariants(p, 3).length, 3);
  assert.deepEqual(paramVariants(p, 0), [{ params: {}, tag: '' }]);
  assert.deepEqual(paramVariants(p, -2), [{ params: {}, tag: '' }]);
});

test('declared presets come right after the defaults, whole, and on top of the cap', () => {
  const p = {
    ...pass('p', {
      mode: { type: 'enum', values: ['a', 'b'], default: 'a', description: '' },
      flag: { type: 'boolean', default: false, description: '' },
    }),
    presets: [{ tag: 'both', params: { mode: 'b', flag: true }, why: 'they pay together' }],
  };
  assert.deepEqual(paramVariants(p, 10), [
    { params: {}, tag: '' },
    { params: { mode: 'b', flag: true }, tag: 'both' },
    { params: { mode: 'b' }, tag: 'mode=b' },
    { params: { flag: true }, tag: 'flag=true' },
  ]);
  assert.deepEqual(
    paramVariants(p, 2).map((v) => v.tag),
    ['', 'both', 'mode=b'],
  );
  assert.deepEqual(
    paramVariants(p, 0).map((v) => v.tag),
    ['', 'both'],
  );
});

test('the list that keeps nodes float: keepFloat (any spelling) before exclude, only string lists', () => {
  assert.equal(excludeParam(pass('a', { exclude: list, keepFloat: list })), 'keepFloat');
  assert.equal(excludeParam(pass('a', { keep_float: list })), 'keep_float');
  assert.equal(excludeParam(pass('a', { KEEPFLOAT: list })), 'KEEPFLOAT');
  assert.equal(excludeParam(pass('a', { excludeNodes: list })), 'excludeNodes');
  assert.equal(excludeParam(pass('a', { keepFloatNodes: list, exclude: list })), 'exclude');
  assert.equal(excludeParam(pass('a', { xkeepfloat: list })), undefined);
  assert.equal(excludeParam(pass('a', { exclude: { type: 'string', default: '', description: '' } })), undefined);
  assert.equal(excludeParam(pass('a', {})), undefined);
});

test('the whole space for two quantizers on an opset-11 model with 25 ranked nodes, in order', () => {
  const space = buildSpace({ passes: [...prep, dyn, stat], sourceOpset: 11, hasCalibration: true, sensitivity: { metric: 'm', rows: rows(25) } });
  assert.deepEqual(
    space.map((c) => c.label),
    [
      'baseline',
      'fp32 opt=extended',
      'fp32 opset17',
      'quantize-dynamic',
      'quantize-dynamic form=integer',
      'quantize-dynamic perChannel=false',
      'quantize-dynamic keep 1 sensitive fp32',
      'quantize-dynamic keep 3 sensitive fp32',
      'quantize-static',
      'quantize-static method=percentile',
      'quantize-static method=entropy',
      'quantize-static no-MatMulAddFusion',
      'quantize-static keep 1 sensitive fp32',
      'quantize-static keep 3 sensitive fp32',
    ],
  );
  const by = (label: string) => space.find((c) => c.label === label)!;
  const pre = [
    { name: 'constants-to-initializers', params: {} },
    { name: 'upgrade-opset', params: { target: 17 } },
  ];
  const all = { graphOptimizationLevel: 'all', disabledOptimizers: [] };
  assert.deepEqual(by('fp32 opt=extended'), {
    label: 'fp32 opt=extended',
    passes: [],
    session: { graphOptimizationLevel: 'extended', disabledOptimizers: [] },
  });
  assert.deepEqual(by('fp32 opset17'), { label: 'fp32 opset17', passes: pre, session: all });
  assert.deepEqual(by('quantize-dynamic form=integer'), {
    label: 'quantize-dynamic form=integer',
    passes: [...pre, { name: 'quantize-dynamic', params: { form: 'integer' } }],
    session: all,
  });
  assert.deepEqual(by('quantize-static no-MatMulAddFusion'), {
    label: 'quantize-static no-MatMulAddFusion',
    passes: [...pre, { name: 'quantize-static', params: {} }],
    session: { graphOptimizationLevel: 'all', disabledOptimizers: ['MatMulAddFusion'] },
  });
  // The most sensitive nodes are the first of the ranking, in its order.
  assert.deepEqual(by('quantize-static keep 3 sensitive fp32').passes.at(-1), { name: 'quantize-static', params: { keepFloat: ['n0', 'n1', 'n2'] } });
  assert.deepEqual(by('quantize-dynamic keep 1 sensitive fp32').passes.at(-1), { name: 'quantize-dynamic', params: { exclude: ['n0'] } });
  assert.deepEqual(by('quantize-dynamic keep 1 sensitive fp32').session, all);
});

test('exclusion counts 1, 3 and 10% of the ranked nodes, only as many as there are', () => {
  const keeps = (n: number) =>
    buildSpace({ passes: [stat], sourceOpset: 17, hasCalibration: true, sensitivity: { metric: 'm', rows: rows(n) } })
      .filter((c) => c.label.includes('keep'))
      .map((c) => (c.passes.at(-1)!.params.keepFloat as string[]).length);
  assert.deepEqual(keeps(40), [1, 3, 4]);
  assert.deepEqual(keeps(31), [1, 3, 4]);
  assert.deepEqual(keeps(30), [1, 3]);
  assert.deepEqual(keeps(3), [1, 3]);
  assert.deepEqual(keeps(2), [1]);
  assert.deepEqual(keeps(0), []);
  // A pass with no keep-float list gets no exclusion variants.
  const plain = pass('quantize-static', { method: { type: 'enum', values: ['minmax'], default: 'minmax', description: '' } }, true);
  assert.ok(
    !buildSpace({ passes: [plain], sourceOpset: 17, hasCalibration: true, sensitivity: { metric: 'm', rows: rows(9) } }).some((c) => c.label.includes('keep')),
  );
});

test('the opset edge, the prep passes that exist, skipped and calibration-only passes, qdq passes, the per-pass cap, duplicates', () => {
  const labels = (o: Partial<Parameters<typeof buildSpace>[0]>) =>
    buildSpace({ passes: [...prep, dyn], sourceOpset: 17, hasCalibration: false, ...o }).map((c) => c.label);
  assert.ok(labels({ sourceOpset: 12 }).includes('fp32 opset17'));
  assert.ok(!labels({ sourceOpset: 13 }).includes('fp32 opset17'));
  const at13 = buildSpace({ passes: [...prep, dyn], sourceOpset: 13, hasCalibration: false });
  assert.deepEqual(at13.find((c) => c.label === 'quantize-dynamic')!.passes, [
    { name: 'constants-to-initializers', params: {} },
    { name: 'quantize-dynamic', params: {} },
  ]);
  // without the prep passes registered, none are applied
  const bare = buildSpace({ passes: [dyn], sourceOpset: 9, hasCalibration: false });
  assert.deepEqual(bare.find((c) => c.label === 'quantize-dynamic')!.passes, [{ name: 'quantize-dynamic', params: {} }]);
  assert.ok(!bare.some((c) => c.label === 'fp32 opset17'));
  const upgradeOnly = buildSpace({ passes: [prep[1]!, dyn], sourceOpset: 9, hasCalibration: false });
  assert.deepEqual(upgradeOnly.find((c) => c.label === 'quantize-dynamic')!.passes, [
    { name: 'upgrade-opset', params: { target: 17 } },
    { name: 'quantize-dynamic', params: {} },
  ]);
  assert.deepEqual(labels({ skip: ['quantize-dynamic'] }), ['baseline', 'fp32 opt=extended']);
  assert.deepEqual(labels({ passes: [stat] }), ['baseline', 'fp32 opt=extended']);
  assert.deepEqual(labels({ passes: [stat], hasCalibration: true }), [
    'baseline',
    'fp32 opt=extended',
    'quantize-static',
    'quantize-static method=percentile',
    'quantize-static method=entropy',
    'quantize-static no-MatMulAddFusion',
  ]);
  assert.deepEqual(labels({ passes: [pass('int8-qdq', {})] }), ['baseline', 'fp32 opt=extended', 'int8-qdq', 'int8-qdq no-MatMulAddFusion']);
  const many = pass('many', { m: { type: 'enum', values: ['a', 'b', 'c', 'd', 'e', 'f'], default: 'a', description: '' } });
  assert.equal(labels({ passes: [many] }).filter((l) => l.startsWith('many')).length, 4);
  assert.equal(labels({ passes: [many], maxPerPass: 2 }).filter((l) => l.startsWith('many')).length, 2);
  // The same pass listed twice gives each candidate once.
  assert.deepEqual(labels({ passes: [dyn, dyn] }), [
    'baseline',
    'fp32 opt=extended',
    'quantize-dynamic',
    'quantize-dynamic form=integer',
    'quantize-dynamic perChannel=false',
  ]);
});

test('exclusion variants after screening: counts within 1..nodes, only the analysed pass changed, other params kept', () => {
  const base: CandidateConfig = {
    label: 'static entropy',
    passes: [
      { name: 'upgrade-opset', params: { target: 17 } },
      { name: 'quantize-static', params: { method: 'entropy' } },
    ],
    session: { graphOptimizationLevel: 'all', disabledOptimizers: ['X'] },
  };
  const v = exclusionVariants(base, stat, ['a', 'b'], [0, 1, 2, 5]);
  assert.deepEqual(v, [
    {
      label: 'static entropy keep 1 sensitive fp32',
      passes: [
        { name: 'upgrade-opset', params: { target: 17 } },
        { name: 'quantize-static', params: { method: 'entropy', keepFloat: ['a'] } },
      ],
      session: { graphOptimizationLevel: 'all', disabledOptimizers: ['X'] },
    },
    {
      label: 'static entropy keep 2 sensitive fp32',
      passes: [
        { name: 'upgrade-opset', params: { target: 17 } },
        { name: 'quantize-static', params: { method: 'entropy', keepFloat: ['a', 'b'] } },
      ],
      session: { graphOptimizationLevel: 'all', disabledOptimizers: ['X'] },
    },
  ]);
  assert.deepEqual(exclusionVariants(base, pass('quantize-static', {}), ['a'], [1]), []);
});
