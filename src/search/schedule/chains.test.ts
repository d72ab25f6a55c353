import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { chainKey, extensionsOf, fixable, isQuantized, quantizersOffFront, quantizeTails, stepTag, type ChainPlan, type ChainState } from './chains.js';
import type { ParamValues } from '../../passes/pass.js';
import type { StepKind } from './cost-model.js';
import { depthFor } from './depth.js';
import type { CandidateConfig } from '../types.js';

const kind = (n: string): StepKind => (n === 'recover' || n === 'qat' ? 'train' : n === 'upgrade-opset' ? 'prep' : 'transform');
const plan = (ms: number): ChainPlan => ({
  quantizers: [
    { name: 'quantize-dynamic', params: {} },
    { name: 'quantize-static', params: {} },
  ],
  qdq: ['quantize-static'],
  recover: { name: 'recover', rungs: [100, 400] },
  qat: { name: 'qat', steps: 300 },
  depth: depthFor(ms),
  margin: 0.1,
});
const cfg = (label: string, ...passes: [string, ParamValues][]): CandidateConfig => ({
  label,
  passes: passes.map(([name, params]) => ({ name, params })),
  session: { graphOptimizationLevel: 'all', disabledOptimizers: [] },
});
const pr = cfg('p', ['prune-structured', { ratio: 0.5 }], ['recover', { steps: 100 }]);
const st = (c: CandidateConfig, nearFront: boolean, misses: ChainState['misses'] = []): ChainState => ({ cfg: c, nearFront, misses });
const labels = (s: ChainState, ms = 3_600_000) => extensionsOf(s, plan(ms), kind).map((e) => e.cfg.label);

test('a training chain near the front: each quantizer, and (deep limits) a longer recovery', () => {
  assert.deepEqual(labels(st(pr, true), 15 * 60_000), ['p → quantize-dynamic', 'p → quantize-static']);
  assert.deepEqual(labels(st(pr, true)), ['p → quantize-dynamic', 'p → quantize-static', 'p → recover +300 (400 in all)']);
  const longer = extensionsOf(st(pr, true), plan(3_600_000), kind).at(-1)!;
  assert.deepEqual(longer.cfg.passes.at(-1), { name: 'recover', params: { steps: 300 } });
  // the last rung reached: no further recovery
  const at400 = cfg('q', ['prune-structured', { ratio: 0.5 }], ['recover', { steps: 100 }], ['recover', { steps: 300 }]);
  assert.ok(!labels(st(at400, true)).some((l) => l.includes('recover +')));
});

test('prefix pruning: a chain off the front, or missing what the next stage cannot fix, is not extended', () => {
  assert.deepEqual(labels(st(pr, false)), []);
  // quantizing never raises quality; recovery never lowers latency
  assert.deepEqual(labels(st(pr, true, ['quality'])), ['p → recover +300 (400 in all)']);
  assert.deepEqual(labels(st(pr, true, ['latency'])), ['p → quantize-dynamic', 'p → quantize-static']);
  // an unquantized training chain missing both: more recovery now, quantizing after it can fix latency
  assert.deepEqual(labels(st(pr, true, ['latency', 'quality'])), ['p → recover +300 (400 in all)']);
  const quantizedThenTrained = cfg('pq', ['prune-structured', { ratio: 0.5 }], ['quantize-static', {}], ['recover', { steps: 100 }]);
  assert.deepEqual(labels(st(quantizedThenTrained, true, ['latency', 'quality'])), [], 'quantized already: training cannot repair latency');
  assert.ok(fixable('quantize', ['size', 'memory']) && !fixable('train', ['size']));
});

test('QAT after a static-int8 chain that misses the quality floor, on deep limits only; nothing quantized twice', () => {
  const s8 = cfg('s8', ['upgrade-opset', { target: 17 }], ['quantize-static', {}]);
  assert.deepEqual(labels(st(s8, true, ['quality'])), ['s8 → qat 300']);
  assert.deepEqual(labels(st(s8, true, ['quality']), 15 * 60_000), []);
  assert.deepEqual(labels(st(s8, true, ['quality', 'latency'])), [], 'QAT cannot fix latency');
  assert.deepEqual(labels(st(s8, true)), [], 'meets the floor: no QAT; already quantized: no second quantizer');
  // a prep-only chain is no chain to extend: its quantizations are single-pass candidates already
  assert.deepEqual(labels(st(cfg('fp32', ['upgrade-opset', { target: 17 }]), true)), []);
});

test('QAT learns its scales after a recovered (pruned) chain or int8 depthwise convs, where the stage can; with fixed scales otherwise', () => {
  const withLsq = { ...plan(3_600_000), qat: { name: 'qat', steps: 300, lsq: true } };
  const qatOf = (c: CandidateConfig, p: ChainPlan) =>
    extensionsOf(st(c, true, ['quality']), p, kind)
      .find((e) => e.kind === 'qat')!
      .cfg.passes.at(-1);
  const pruned8 = cfg('p8', ['prune-structured', { ratio: 0.25 }], ['recover', { steps: 100 }], ['quantize-static', {}]);
  const s8 = cfg('s8', ['quantize-static', {}]);
  assert.deepEqual(qatOf(pruned8, withLsq), { name: 'qat', params: { steps: 300, lsq: true } });
  assert.deepEqual(qatOf(s8, withLsq), { name: 'qat', params: { steps: 300 } });
  // the int8-chains preset: depthwise convs in int8
  const chains8 = cfg('c8', ['quantize-static', { scope: 'compute', quantizeDepthwise: true, method: 'percentile', hardswish: 'uint8' }]);
  assert.deepEqual(qatOf(chains8, withLsq), { name: 'qat', params: { steps: 300, lsq: true } });
  assert.deepEqual(qatOf(cfg('f8', ['quantize-static', { quantizeDepthwise: false }]), withLsq), { name: 'qat', params: { steps: 300 } });
  assert.deepEqual(qatOf(pruned8, plan(3_600_000)), { name: 'qat', params: { steps: 300 } }, 'a stage without the parameter');
  // a plan without a recovery stage: nothing counts as recovered
  const { recover: _, ...noRecover } = withLsq;
  assert.deepEqual(qatOf(s8, noRecover), { name: 'qat', params: { steps: 300 } });
  assert.deepEqual(qatOf(chains8, noRecover), { name: 'qat', params: { steps: 300, lsq: true } });
});

test('successive halving: the best training chain of its round, off the front, gets the longer recovery, and nothing else', () => {
  const half: ChainState = { cfg: pr, nearFront: false, misses: ['quality'], betterHalf: true };
  assert.deepEqual(labels(half), ['p → recover +300 (400 in all)']);
  assert.deepEqual(labels(half, 15 * 60_000), [], 'quick limits do not halve');
  assert.deepEqual(labels({ ...half, misses: ['latency', 'quality'] }), ['p → recover +300 (400 in all)'], 'unquantized: latency is for a later quantizer');
  assert.deepEqual(labels({ ...half, misses: ['size'], cfg: cfg('pq', ['quantize-static', {}], ['recover', { steps: 100 }]) }), []);
});

test('the quantizing tails that screened fastest on the source are appended to promising chains too', () => {
  const c8 = cfg('clean-fp32 → quantize-static int8-chains', ['upgrade-opset', { target: 17 }], ['clean-fp32', {}], ['quantize-static', { scope: 1 }]);
  const ranked = [
    cfg('quantize-static', ['upgrade-opset', { target: 17 }], ['quantize-static', {}]), // one quantizer at its defaults: in the plan already
    pr, // trains: not a tail
    cfg('pq', ['quantize-static', { scope: 3 }], ['recover', { steps: 100 }]), // quantizes, then trains: not a tail
    cfg('fp32 opset17', ['upgrade-opset', { target: 17 }]), // quantizes nothing
    cfg('clean only', ['clean-fp32', {}]), // a substantive step, but no quantizer: not a tail
    c8,
    cfg('again', ['clean-fp32', {}], ['quantize-static', { scope: 1 }]), // the same steps as c8
    cfg('quantize-dynamic keepBias', ['quantize-dynamic', { keepBias: 1 }]),
    cfg('third', ['quantize-static', { scope: 2 }]),
  ];
  const tails = quantizeTails(ranked, plan(3_600_000), kind);
  assert.deepEqual(
    tails.map((t) => t.label),
    ['clean-fp32 → quantize-static int8-chains', 'quantize-dynamic keepBias'],
  );
  assert.deepEqual(tails[0]!.steps, [
    { name: 'clean-fp32', params: {} },
    { name: 'quantize-static', params: { scope: 1 } },
  ]);
  const withTails = { ...plan(3_600_000), tails };
  const ext = extensionsOf(st(pr, true, ['latency']), withTails, kind);
  assert.deepEqual(
    ext.map((e) => e.cfg.label),
    ['p → quantize-dynamic', 'p → quantize-static', 'p → clean-fp32 → quantize-static int8-chains', 'p → quantize-dynamic keepBias'],
  );
  assert.deepEqual(ext[2]!.cfg.passes.slice(2), tails[0]!.steps);
  assert.equal(ext[2]!.kind, 'quantize');
});

test('tails that differ only in their keep-float lists count once, as the fastest; other params still make a new tail', () => {
  const tail = (label: string, keep: string[], scope = 1) => cfg(label, ['clean-fp32', {}], ['quantize-static', { scope, keepFloat: keep }]);
  const ranked = [tail('chains keep a', ['a']), tail('chains keep a,b', ['a', 'b']), tail('chains keep none', []), tail('scope 2 keep a', ['a'], 2)];
  const keepFloatOf = (name: string) => (name === 'quantize-static' ? 'keepFloat' : undefined);
  assert.deepEqual(
    quantizeTails(ranked, plan(3_600_000), kind, 2, keepFloatOf).map((t) => t.label),
    ['chains keep a', 'scope 2 keep a'],
  );
  // without a declared keep-float parameter every list is a tail of its own
  assert.deepEqual(
    quantizeTails(ranked, plan(3_600_000), kind, 2).map((t) => t.label),
    ['chains keep a', 'chains keep a,b'],
  );
});

test('a quantizer whose own candidates all screened off the front is not appended to other chains', () => {
  const dyn = cfg('quantize-dynamic', ['upgrade-opset', { target: 17 }], ['quantize-dynamic', {}]); // prep passes before it still count as its own
  const dyn2 = cfg('quantize-dynamic perChannel', ['quantize-dynamic', { perChannel: 0 }]);
  const stat = cfg('quantize-static', ['quantize-static', {}]);
  const both = cfg('dynamic then static', ['quantize-dynamic', {}], ['quantize-static', {}]); // two steps: nobody's own
  // dynamic: both its own candidates off the front; static: on it
  assert.deepEqual(quantizersOffFront(plan(3_600_000), [st(dyn, false), st(dyn2, false), st(stat, true), st(both, true), st(pr, true)], kind), [
    'quantize-dynamic',
  ]);
  // one of its own near the front is enough to keep it
  assert.deepEqual(quantizersOffFront(plan(3_600_000), [st(dyn, false), st(dyn2, true), st(stat, false)], kind), ['quantize-static']);
  // its only own candidate has a prep pass before it, and is off the front
  assert.deepEqual(quantizersOffFront(plan(3_600_000), [st(dyn, false)], kind), ['quantize-dynamic']);
  // none of its own screened (a chain of two does not count): kept
  assert.deepEqual(quantizersOffFront(plan(3_600_000), [st(both, false), st(stat, true)], kind), []);
  const p = { ...plan(3_600_000), offFront: ['quantize-dynamic'] };
  assert.deepEqual(
    extensionsOf(st(pr, true), p, kind).map((e) => e.cfg.label),
    ['p → quantize-static', 'p → recover +300 (400 in all)'],
  );
  // a chain quantized by a quantizer off the front is still quantized: not quantized again
  const prDyn = cfg('pd', ['prune-structured', { ratio: 0.5 }], ['recover', { steps: 100 }], ['quantize-dynamic', {}]);
  assert.ok(isQuantized(prDyn, p));
  assert.ok(!extensionsOf(st(prDyn, true), p, kind).some((e) => e.kind === 'quantize'));
});

test('a step is tagged by its scalar params (steps bare), lists and unset ones left out; a chain is keyed by its steps, not its label', () => {
  assert.equal(stepTag({ name: 'qat', params: { steps: 60, lsq: true } }), 'qat 60 lsq=true');
  assert.equal(stepTag({ name: 'quantize-static', params: { scope: 'all', keepFloat: ['a', 'b'], method: undefined } }), 'quantize-static scope=all');
  assert.equal(stepTag({ name: 'clean-fp32', params: {} }), 'clean-fp32');
  const a = cfg('one name', ['quantize-static', { scope: 1 }]);
  assert.equal(chainKey(a), chainKey({ ...a, label: 'another name' }));
  assert.notEqual(chainKey(a), chainKey(cfg('one name', ['quantize-static', { scope: 2 }])));
  assert.notEqual(chainKey(a), chainKey({ ...a, session: { graphOptimizationLevel: 'basic', disabledOptimizers: [] } }));
});

test('a chain with QAT among its steps is quantized; prep steps before a substantive one do not stop its extension', () => {
  assert.ok(isQuantized(cfg('q', ['prune-structured', { ratio: 0.5 }], ['qat', { steps: 60 }]), plan(3_600_000)));
  assert.ok(!isQuantized(pr, plan(3_600_000)));
  const { qat: _q, ...noQat } = plan(3_600_000);
  assert.ok(!isQuantized(pr, noQat), 'a plan without QAT');
  const prepped = cfg('pp', ['upgrade-opset', { target: 17 }], ['prune-structured', { ratio: 0.5 }], ['recover', { steps: 100 }]);
  assert.deepEqual(labels(st(prepped, true), 15 * 60_000), ['pp → quantize-dynamic', 'pp → quantize-static']);
});
