import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { UsageError } from '../onnx/errors.js';
import { checkConstraints, parseConstraint, parseConstraints, resolveMetric } from './constraints.js';

test('latency budgets in every unit and statistic', () => {
  assert.deepEqual(parseConstraint('p99<=12ms'), { kind: 'latency', stat: 'p99', op: '<=', ms: 12, text: 'p99<=12ms' });
  assert.equal((parseConstraint('p50 < 1.5 s') as { ms: number }).ms, 1500);
  assert.equal((parseConstraint('max<=800us') as { ms: number }).ms, 0.8);
  assert.equal((parseConstraint('P90≤3ms') as { stat: string }).stat, 'p90');
  for (const s of ['p95<=1ms', 'mean<=2ms']) assert.equal(parseConstraint(s).kind, 'latency');
});

test('quality floors: relative in points, absolute as fraction or percent, lower-is-better metrics', () => {
  assert.deepEqual(parseConstraint('exact>=-1pt'), { kind: 'quality', metric: 'exact', op: '>=', mode: 'relative', value: -0.01, text: 'exact>=-1pt' });
  const a = parseConstraint('accuracy>=0.97');
  assert.equal(a.kind === 'quality' && a.mode, 'absolute');
  assert.equal(a.kind === 'quality' && a.value, 0.97);
  const p = parseConstraint('accuracy>=97%');
  assert.ok(p.kind === 'quality' && Math.abs(p.value - 0.97) < 1e-12);
  const b = parseConstraint('accuracy>=baseline-0.005');
  assert.ok(b.kind === 'quality' && b.mode === 'relative' && Math.abs(b.value + 0.005) < 1e-12);
  const c = parseConstraint('cer<=+0.5pt');
  assert.ok(c.kind === 'quality' && c.mode === 'relative' && c.op === '<=' && Math.abs(c.value - 0.005) < 1e-12);
});

test('size and memory limits', () => {
  assert.deepEqual(parseConstraint('size<=20MB'), { kind: 'size', op: '<=', bytes: 20e6, text: 'size<=20MB' });
  assert.equal((parseConstraint('memory<=1GiB') as { bytes: number }).bytes, 1024 ** 3);
  assert.equal(parseConstraints('p99<=12ms, size<=5MB;rss<300MB').length, 3);
});

test('malformed constraints are UsageErrors that say what was wrong', () => {
  const cases: [string, RegExp][] = [
    ['p99', /expected <what><op><value>/],
    ['p99<=12', /cannot read the time '12'/],
    ['p99>=12ms', /upper bound/],
    ['p42<=1ms', /unsupported latency statistic/],
    ['p99<=0ms', /must be positive/],
    ['accuracy<=0.9', /points the wrong way/],
    ['cer>=0.1', /points the wrong way/],
    ['accuracy>=97', /above 1/],
    ['accuracy>=lots', /cannot read the quality value/],
    ['size<=big', /cannot read the size/],
    ['', /empty constraint/],
  ];
  for (const [s, re] of cases) {
    assert.throws(
      () => parseConstraints(s),
      (e: unknown) => e instanceof UsageError && re.test(e.message) && !!e.hint,
      s,
    );
  }
});

test('checks: budgets, relative floors against the baseline, missing metrics', () => {
  const cs = parseConstraints('p99<=10ms,exact>=-1pt,size<=1MB');
  const base = { quality: { 'exact-match': 0.8 } };
  const ok = checkConstraints(cs, { latency: { p99: 9 }, quality: { 'exact-match': 0.795 }, sizeBytes: 5e5 }, base);
  assert.deepEqual(
    ok.map((c) => c.ok),
    [true, true, true],
  );
  const bad = checkConstraints(cs, { latency: { p99: 12 }, quality: { 'exact-match': 0.78 }, sizeBytes: 2e6 }, base);
  assert.deepEqual(
    bad.map((c) => c.ok),
    [false, false, false],
  );
  assert.ok(Math.abs(bad[0]!.missBy - 0.2) < 1e-9);
  assert.ok(Math.abs(bad[1]!.bound - 0.79) < 1e-9);
  const none = checkConstraints(cs, { latency: { p99: 9 }, quality: { accuracy: 0.9 } }, base);
  assert.equal(none[1]!.ok, false);
  assert.match(none[1]!.note!, /not among/);
  assert.equal(none[2]!.note, 'not measured');
  assert.equal(resolveMetric('exact', ['cer', 'exactMatch']), 'exactMatch');
  assert.equal(resolveMetric('accuracy', ['cer']), undefined);
});

test('latency budgets relative to the baseline', () => {
  const a = parseConstraint('p99<=0.6x');
  assert.ok(a.kind === 'latency' && a.factor === 0.6 && a.ms === undefined);
  const b = parseConstraint('p50<=-40%');
  assert.ok(b.kind === 'latency' && Math.abs(b.factor! - 0.6) < 1e-12);
  const [ok, bad] = [
    checkConstraints([a], { latency: { p99: 5.9 } }, { latency: { p99: 10 } })[0]!,
    checkConstraints([a], { latency: { p99: 6.5 } }, { latency: { p99: 10 } })[0]!,
  ];
  assert.equal(ok.ok, true);
  assert.equal(bad.ok, false);
  assert.ok(Math.abs(bad.bound - 6) < 1e-12);
  assert.equal(checkConstraints([a], { latency: { p99: 1 } })[0]!.note, 'no baseline to compare with');
  assert.throws(() => parseConstraint('p99<=-100%'), /positive time/);
});
