import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  agreement,
  DEFAULT_FLOORS,
  expectedDecisionAgreement,
  FLOORED,
  iou,
  METRICS_OF,
  outputAgreement,
  outputKind,
  PRIMARY,
  splitItems,
  type ItemOutput,
  type OutputKind,
} from './agreement.js';

const item = (values: number[], dims: number[] = [1, values.length]): ItemOutput => ({ data: Float32Array.from(values), dims });

test('the kind of an output decides its metric', () => {
  assert.equal(outputKind([item([0.3], [1, 1])]), 'decision');
  assert.equal(outputKind([item([2, -1, 0.5])]), 'class-scores');
  assert.equal(outputKind([item([0.2, 0.8, 0.5, 0.5], [1, 2, 2])]), 'class-scores', 'rows of probabilities over time steps');
  assert.equal(outputKind([item([0.1, 0.9, 0.3, 0.2], [1, 1, 2, 2])]), 'map');
  assert.equal(outputKind([item([0.1, 0.9, 0.3, 0.2], [1, 2, 2])]), 'map', 'a 3-D map whose rows are not distributions');
  assert.equal(outputKind([item([3, -2, 0.3, 5], [1, 1, 2, 2])]), 'dense', 'values outside [0, 1] are not a probability map');
  assert.equal(outputKind([item([1, 1, 1, 1, 0, 0, 0, 0], [2, 1, 4])]), 'dense', 'recurrent state in [0, 1] has no spatial axes: not a map');
});

test('one-element outputs: decision agreement and |diff|, never the cosine of two scalars', () => {
  // A good model: tiny differences, and one side exactly 0 where the cosine of two scalars would be 0.
  const ref = [0.0, 0.2, 0.7, 0.9].map((v) => item([v], [1, 1]));
  const good = [0.0013, 0.2, 0.7005, 0.9].map((v) => item([v], [1, 1]));
  const a = outputAgreement('p', good, ref);
  assert.equal(a.kind, 'decision');
  assert.equal(a.primary, 'decision-agreement');
  assert.equal(a.metrics['decision-agreement']!.value, 1);
  assert.ok(Math.abs(a.metrics['max-abs-diff']!.value - 0.0013) < 1e-6);
  assert.equal(a.metrics.cosine, undefined);
  // A broken one: flips the decision of two items out of four.
  const broken = [0.6, 0.2, 0.4, 0.9].map((v) => item([v], [1, 1]));
  const b = outputAgreement('p', broken, ref);
  assert.equal(b.metrics['decision-agreement']!.value, 0.5);
  assert.deepEqual(b.perItem, [0, 1, 0, 1]);
  assert.ok(b.metrics['decision-agreement']!.ci[0] < 0.5 && b.metrics['decision-agreement']!.ci[1] > 0.5, 'a Wilson interval around it');
  // logits are decided at 0, not 0.5
  const logits = outputAgreement('z', [item([0.3], [1, 1])], [item([-2], [1, 1])]);
  assert.equal(logits.threshold, 0);
  assert.equal(logits.metrics['decision-agreement']!.value, 0);
});

test("expected decision agreement: every item's margin against every item's difference, exactly", () => {
  // differences +0.1, 0, 0, 0: item 0 (0.45, below 0.5) flips under d > 0.05 — one of four; the others keep theirs
  assert.deepEqual(expectedDecisionAgreement([0.45, 0.6, 0.9, 0.2], [0.55, 0.6, 0.9, 0.2], 0.5), [0.75, 1, 1, 1]);
  // a lucky held-out set: no decision flipped, but 0.49 sits 0.01 below the threshold and one item moved +0.05
  const ref = [0.49, 0.9, 0.8, 0.7];
  const got = [0.47, 0.95, 0.75, 0.7];
  assert.deepEqual(expectedDecisionAgreement(ref, got, 0.5), [0.75, 1, 1, 1]);
  const a = outputAgreement(
    'p',
    got.map((v) => item([v], [1, 1])),
    ref.map((v) => item([v], [1, 1])),
  );
  assert.equal(a.metrics['decision-agreement']!.value, 1, 'no decision flipped');
  assert.equal(a.metrics['expected-decision-agreement']!.value, 0.9375, 'but one in sixteen would');
  // the boundary: an item above t flips when ref + d ≤ t (decisions are v > t); one at t stays below under d = 0
  assert.deepEqual(expectedDecisionAgreement([0.6, 0.5], [0.5, 0.5], 0.5), [0.5, 1]);
  assert.deepEqual(expectedDecisionAgreement([0.6, 0.5], [0.6, 0.5], 0.5), [1, 1]);
});

test('class scores: top-1 agreement at every position; maps: IoU of the thresholded map', () => {
  const ref = [item([1, 2, 0]), item([3, 0, 1]), item([0, 0, 5])];
  const got = [item([1, 2.1, 0]), item([0, 3, 1]), item([0, 0, 4])];
  const a = outputAgreement('logits', got, ref);
  assert.equal(a.metrics['top1-agreement']!.value, 2 / 3);
  assert.deepEqual(a.perItem, [1, 0, 1]);
  assert.equal(iou(Float32Array.from([0.9, 0.9, 0.1, 0.1]), Float32Array.from([0.9, 0.1, 0.9, 0.1])), 1 / 3);
  assert.equal(iou(Float32Array.from([0.1, 0.2]), Float32Array.from([0.3, 0.4])), 1, 'two empty masks agree');
  const m = outputAgreement('mask', [item([0.9, 0.9, 0.1, 0.1], [1, 1, 2, 2])], [item([0.9, 0.1, 0.9, 0.1], [1, 1, 2, 2])]);
  assert.equal(m.primary, 'iou');
  assert.equal(m.metrics.iou!.value, 1 / 3);
  // an fp32-identical map scores 1, not 0 as top-1 over the last axis of a map would suggest
  const same = outputAgreement('mask', [item([0.2, 0.7, 0.6, 0.1], [1, 1, 2, 2])], [item([0.2, 0.7, 0.6, 0.1], [1, 1, 2, 2])]);
  assert.equal(same.metrics.iou!.value, 1);
});

test('dense outputs: cosine and relative L2 per item with bootstrap intervals; several outputs keep their own metrics', () => {
  const ref = [item([1, 0, 0, 0], [1, 4]).data, item([0, 2, 0, 0], [1, 4]).data].map((d) => ({ data: d, dims: [1, 2, 2] }));
  const got = [
    { data: Float32Array.from([1, 0, 0, 0]), dims: [1, 2, 2] },
    { data: Float32Array.from([0, 2, 2, 0]), dims: [1, 2, 2] },
  ];
  const a = outputAgreement('emb', got, ref);
  assert.equal(a.kind, 'dense');
  assert.ok(Math.abs(a.perItem[1]! - Math.SQRT1_2) < 1e-6);
  assert.ok(Math.abs(a.metrics['rel-l2']!.value - 0.5) < 1e-6, 'mean of 0 and 1');
  const all = agreement(['emb', 'p'], [got, [item([0.7], [1, 1]), item([0.2], [1, 1])]], [ref, [item([0.6], [1, 1]), item([0.2], [1, 1])]]);
  assert.equal(all.primary.name, 'cosine');
  assert.equal(all.metrics['p:decision-agreement']!.value, 1);
  assert.equal(all.n, 2);
});

test('a batched output splits into items', () => {
  const items = splitItems(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
  assert.equal(items.length, 3);
  assert.deepEqual([...items[2]!.data], [5, 6]);
  assert.deepEqual(items[0]!.dims, [1, 2]);
});

test('kind edges: tolerances of a distribution and of [0, 1], axes of length 1, no items', () => {
  assert.equal(outputKind([]), 'dense', 'no items: nothing to judge by');
  assert.equal(outputKind([item([0.4], [1])]), 'decision', 'one value, however it is shaped');
  assert.equal(outputKind([item([0.3, 0.7], [1, 2])]), 'class-scores');
  assert.equal(outputKind([item([0.3, 0.7], [1, 1, 2])]), 'class-scores', 'rows that sum to 1');
  // rows summing to 1 within 1e-3 are distributions; a row off by 0.01 is not (then in [0, 1] with spatial axes: a map)
  assert.equal(outputKind([item([0.2, 0.8005, 0.5, 0.5], [1, 2, 2])]), 'class-scores');
  assert.equal(outputKind([item([0.2, 0.79, 0.5, 0.5], [1, 2, 2])]), 'map');
  assert.equal(outputKind([item([0.2, 0.8, 0.5, 0.5], [1, 2, 2]), item([0.2, 0.7, 0.5, 0.5], [1, 2, 2])]), 'map', 'every item must have distributions');
  // [0, 1] within 1e-6
  assert.equal(outputKind([item([0, 1.0000005, 0.3, 0.2], [1, 1, 2, 2])]), 'map');
  assert.equal(outputKind([item([0, 1.01, 0.3, 0.2], [1, 1, 2, 2])]), 'dense');
  assert.equal(outputKind([item([-0.01, 0.9, 0.3, 0.2], [1, 1, 2, 2])]), 'dense');
  assert.equal(outputKind([item([0.1, 0.9, 0.3, 0.2], [1, 1, 2, 2]), item([0.1, 0.9, 0.3, 1.5], [1, 1, 2, 2])]), 'dense', 'every item in [0, 1]');
  // spatial means both last axes longer than 1
  assert.equal(outputKind([item([0.1, 0.9, 0.3, 0.2], [1, 4, 1])]), 'dense', 'last axis 1');
  assert.equal(outputKind([item([0.1, 0.2, 0.3, 0.2], [1, 1, 4])]), 'dense', 'second last axis 1, rows not distributions');
  assert.equal(outputKind([item([0.1, 0.2, 0.3, 0.2, 0.1, 0.1], [1, 2, 3])]), 'map');
});

test('class scores: ties go to the first class, every position counts, cosine rides along', () => {
  // ref ties between 0 and 1 → class 0; got clearly 0 → agrees; got clearly 1 → disagrees
  const ref = [item([2, 2, 0]), item([2, 2, 0])];
  const got = [item([2, 1.9, 0]), item([1.9, 2, 0])];
  assert.deepEqual(outputAgreement('s', got, ref).perItem, [1, 0]);
  // two time steps: the second disagrees, so the item does
  const seq = outputAgreement('s', [item([0.9, 0.1, 0.2, 0.8], [1, 2, 2])], [item([0.9, 0.1, 0.8, 0.2], [1, 2, 2])]);
  assert.equal(seq.kind, 'class-scores');
  assert.deepEqual(seq.perItem, [0]);
  assert.equal(seq.metrics['top1-agreement']!.value, 0);
  const c = outputAgreement('s', [item([1, 0, 0]), item([0, 0, 0])], [item([1, 0, 0]), item([0, 0, 0])]);
  assert.equal(c.metrics.cosine!.value, 1, 'equal vectors, and two zero vectors, have cosine 1');
  const z = outputAgreement('s', [item([0, 0, 0])], [item([1, 0, 0])]);
  assert.equal(z.metrics.cosine!.value, 0, 'a zero vector against a non-zero one has cosine 0');
  const h = outputAgreement('s', [item([1, 1, 0])], [item([1, 0, 0])]);
  assert.ok(Math.abs(h.metrics.cosine!.value - Math.SQRT1_2) < 1e-6);
});

test('dense: relative L2 against a zero reference, and cosine of a scaled vector', () => {
  const dims = [1, 2, 2];
  const zero = { data: new Float32Array(4), dims };
  const same = outputAgreement('e', [zero], [zero], 0, 'dense');
  assert.equal(same.metrics['rel-l2']!.value, 0);
  assert.equal(same.metrics.cosine!.value, 1);
  const off = outputAgreement('e', [{ data: Float32Array.from([0, 0, 0, 1]), dims }], [zero], 0, 'dense');
  assert.equal(off.metrics['rel-l2']!.value, Infinity);
  const scaled = outputAgreement('e', [{ data: Float32Array.from([2, 4, 6, 8]), dims }], [{ data: Float32Array.from([1, 2, 3, 4]), dims }]);
  assert.ok(Math.abs(scaled.metrics.cosine!.value - 1) < 1e-6, 'cosine ignores scale');
  assert.ok(Math.abs(scaled.metrics['rel-l2']!.value - 1) < 1e-6, 'relative L2 does not: |2x − x| / |x| = 1');
});

test('maps: a value at the threshold is background; the map also reports its cosine', () => {
  assert.equal(iou(Float32Array.from([0.5, 0.9]), Float32Array.from([0.9, 0.9])), 0.5);
  assert.equal(iou(Float32Array.from([0.3, 0.9]), Float32Array.from([0.9, 0.9]), 0.2), 1, 'a given threshold');
  const m = outputAgreement('mask', [item([0.9, 0, 0, 0], [1, 1, 2, 2])], [item([0.9, 0, 0, 0.9], [1, 1, 2, 2])]);
  assert.equal(m.metrics.iou!.value, 0.5);
  assert.ok(Math.abs(m.metrics.cosine!.value - Math.SQRT1_2) < 1e-6);
});

test('decision outputs: thresholds, mean and max |diff| with their intervals', () => {
  const ref = [0.1, 0.3, 0.6, 0.8].map((v) => item([v], [1, 1]));
  const got = [0.1, 0.4, 0.6, 0.5].map((v) => item([v], [1, 1]));
  const a = outputAgreement('p', got, ref);
  assert.equal(a.threshold, 0.5);
  assert.deepEqual(a.perItem, [1, 1, 1, 0], '0.5 is not above 0.5');
  assert.ok(Math.abs(a.metrics['max-abs-diff']!.value - 0.3) < 1e-6);
  assert.ok(Math.abs(a.metrics['mean-abs-diff']!.value - 0.1) < 1e-6);
  const [lo, hi] = a.metrics['max-abs-diff']!.ci;
  assert.ok(lo >= 0 && lo <= 0.3 && hi <= 0.3 + 1e-6, `a bootstrap max stays within the observed [0, 0.3]: ${lo}..${hi}`);
  // a value just outside [0, 1] makes them logits, decided at 0
  const l = outputAgreement('z', [item([0.2], [1, 1]), item([0.4], [1, 1])], [item([1.2], [1, 1]), item([0.4], [1, 1])]);
  assert.equal(l.threshold, 0);
  assert.equal(l.metrics['decision-agreement']!.value, 1);
  // a given kind overrides the guess
  assert.equal(outputAgreement('p', [item([0.2, 0.8])], [item([0.2, 0.8])], 0, 'dense').kind, 'dense');
});

test('mismatched items or values are refused, naming the output and the item', () => {
  assert.throws(() => outputAgreement('p', [item([1])], [item([1]), item([1])]), /1 vs 2 items/);
  assert.throws(
    () => outputAgreement('emb', [item([1, 2]), item([1, 2, 3])], [item([1, 2]), item([1, 2])]),
    /output 'emb' has 3 values for item 1, the source model 2/,
  );
});

test('several outputs: the first is primary, the others are named, and kinds are given by name', () => {
  const ref = [
    [item([0.9, 0.1]), item([0.2, 0.8])],
    [item([0.7], [1, 1]), item([0.2], [1, 1])],
  ];
  const got = [
    [item([0.9, 0.1]), item([0.9, 0.1])],
    [item([0.4], [1, 1]), item([0.2], [1, 1])],
  ];
  const all = agreement(['cls', 'p'], got, ref);
  assert.equal(all.primary.name, 'top1-agreement');
  assert.equal(all.primary.value, 0.5);
  assert.deepEqual(all.primary.ci, all.metrics['top1-agreement']!.ci);
  assert.deepEqual(all.perItem, [1, 0]);
  assert.equal(all.metrics['p:decision-agreement']!.value, 0.5);
  assert.equal(all.metrics['decision-agreement'], undefined, "a later output's metrics carry its name");
  assert.deepEqual(
    all.outputs.map((o) => o.kind),
    ['class-scores', 'decision'],
  );
  const given = agreement(['cls', 'p'], got, ref, 0, { cls: 'dense' });
  assert.equal(given.primary.name, 'cosine');
  assert.ok(given.metrics['cls:cosine'] === undefined && given.metrics['p:max-abs-diff'] !== undefined);
});

test('splitting: an empty batch axis and a scalar output each give one item', () => {
  const scalar = splitItems(Float32Array.from([7]), []);
  assert.equal(scalar.length, 1);
  assert.deepEqual(scalar[0]!.dims, []);
  assert.deepEqual([...scalar[0]!.data], [7]);
  const one = splitItems(Float32Array.from([1, 2]), [1, 2]);
  assert.deepEqual([...one[0]!.data], [1, 2]);
  assert.deepEqual(one[0]!.dims, [1, 2]);
  const items = splitItems(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual([...items[0]!.data], [1, 2, 3]);
  assert.deepEqual([...items[1]!.data], [4, 5, 6]);
});

test('the tables: every metric a kind reports is listed, the primary first, and the floored ones have floors', () => {
  const cases: [OutputKind, ItemOutput[]][] = [
    ['class-scores', [item([0.2, 0.8]), item([0.7, 0.3])]],
    ['decision', [item([0.2], [1, 1]), item([0.7], [1, 1])]],
    ['map', [item([0.1, 0.9, 0.3, 0.2], [1, 1, 2, 2]), item([0.6, 0.9, 0.3, 0.2], [1, 1, 2, 2])]],
    ['dense', [item([3, -1, 2, 5], [1, 1, 2, 2]), item([1, 1, 2, 5], [1, 1, 2, 2])]],
  ];
  for (const [kind, items] of cases) {
    const a = outputAgreement('o', items, items);
    assert.equal(a.kind, kind);
    assert.deepEqual(Object.keys(a.metrics), METRICS_OF[kind], kind);
    assert.equal(METRICS_OF[kind][0], PRIMARY[kind]);
    assert.equal(FLOORED[kind][0], PRIMARY[kind]);
    for (const m of FLOORED[kind]) assert.ok(METRICS_OF[kind].includes(m) && DEFAULT_FLOORS[m]! > 0.9, `${kind}: ${m}`);
    assert.equal('threshold' in a, kind === 'decision', 'only a decision has a threshold');
  }
  assert.deepEqual(FLOORED.decision, ['decision-agreement', 'expected-decision-agreement']);
  assert.deepEqual(DEFAULT_FLOORS, { 'top1-agreement': 0.99, 'decision-agreement': 0.99, 'expected-decision-agreement': 0.99, iou: 0.95, cosine: 0.99 });
});

test('more edges: a reference at the threshold, a zero reference, the next row, an axis of 1, the seed', () => {
  assert.equal(iou(Float32Array.from([0.9, 0.9]), Float32Array.from([0.5, 0.9])), 0.5, 'a reference value at 0.5 is background');
  const d = outputAgreement('p', [item([0.5], [1, 1]), item([0.9], [1, 1])], [item([0.5], [1, 1]), item([0.9], [1, 1])]);
  assert.deepEqual(d.perItem, [1, 1], 'a reference and a candidate both at 0.5 agree');
  const z = outputAgreement('s', [item([1, 0, 0])], [item([0, 0, 0])]);
  assert.equal(z.metrics.cosine!.value, 0, 'a non-zero candidate against a zero reference has cosine 0');
  // a row's argmax looks at its own row only: the next row's first value is larger than this row's
  const ref = [item([0.6, 0.4, 0.9, 0.1], [1, 2, 2])];
  const got = [item([0.6, 0.4, 0.55, 0.45], [1, 2, 2])];
  assert.deepEqual(outputAgreement('s', got, ref).perItem, [1]);
  assert.equal(outputKind([item([1, 1, 1], [1, 3, 1])]), 'dense', 'a last axis of 1 is neither classes nor a map');
  // the bootstrap follows the seed
  const many = Array.from({ length: 30 }, (_, i) => item([Math.sin(i), Math.cos(i), i % 3], [1, 1, 3]));
  const other = many.map((m, i) =>
    item(
      [...m.data].map((v, k) => v + ((i * 7 + k) % 5) * 0.1),
      [1, 1, 3],
    ),
  );
  const s0 = outputAgreement('e', other, many, 0, 'dense').metrics.cosine!.ci;
  const s0b = outputAgreement('e', other, many, 0, 'dense').metrics.cosine!.ci;
  const s7 = outputAgreement('e', other, many, 7, 'dense').metrics.cosine!.ci;
  assert.deepEqual(s0, s0b);
  assert.notDeepEqual(s0, s7);
});
