// Exact values and the edges of every constraint: a figure exactly at its bound, one float-noise step
// on either side of a quality floor, each unit and name, and the words and hints of each error. A `<=`
// read as `<`, a floor read the wrong way round or CER treated as higher-is-better all fail here.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { UsageError } from '../onnx/errors.js';
import {
  type Constraint,
  checkConstraints,
  describeCheck,
  formatBytes,
  lowerIsBetter,
  parseConstraint,
  parseConstraints,
  resolveMetric,
} from './constraints.js';

function usage(raw: string, message: RegExp, hint: RegExp): void {
  assert.throws(
    () => parseConstraints(raw),
    (e: unknown) => {
      assert.ok(e instanceof UsageError, `${raw}: ${String(e)}`);
      assert.match(e.message, message, raw);
      assert.match(e.hint ?? '', hint, raw);
      return true;
    },
  );
}

test('a figure exactly at its bound meets <= and misses <, for every kind of limit', () => {
  const at = (c: string, f: Parameters<typeof checkConstraints>[1], base?: Parameters<typeof checkConstraints>[2]) =>
    checkConstraints([parseConstraint(c)], f, base)[0]!.ok;
  assert.equal(at('p99<=12ms', { latency: { p99: 12 } }), true);
  assert.equal(at('p99<12ms', { latency: { p99: 12 } }), false);
  assert.equal(at('p99<12ms', { latency: { p99: 11.999 } }), true);
  assert.equal(at('p99<=12ms', { latency: { p99: 12.001 } }), false);
  // relative: 0.5 × 10 ms = 5 ms exactly
  assert.equal(at('p50<=0.5x', { latency: { p50: 5 } }, { latency: { p50: 10 } }), true);
  assert.equal(at('p50<0.5x', { latency: { p50: 5 } }, { latency: { p50: 10 } }), false);
  assert.equal(at('size<=2MB', { sizeBytes: 2e6 }), true);
  assert.equal(at('size<2MB', { sizeBytes: 2e6 }), false);
  assert.equal(at('size<2MB', { sizeBytes: 2e6 - 1 }), true);
  assert.equal(at('memory<=300MB', { peakRssBytes: 300e6 }), true);
  assert.equal(at('memory<300MB', { peakRssBytes: 300e6 }), false);
  assert.equal(at('memory<=300MB', { peakRssBytes: 300e6 + 1 }), false);
  // quality floors (higher is better) and ceilings (lower is better)
  assert.equal(at('accuracy>=0.9', { quality: { accuracy: 0.9 } }), true);
  assert.equal(at('accuracy>0.9', { quality: { accuracy: 0.9 } }), false);
  assert.equal(at('accuracy>0.9', { quality: { accuracy: 0.9001 } }), true);
  assert.equal(at('accuracy>=0.9', { quality: { accuracy: 0.8999 } }), false);
  assert.equal(at('cer<=0.05', { quality: { cer: 0.05 } }), true);
  assert.equal(at('cer<0.05', { quality: { cer: 0.05 } }), false);
  assert.equal(at('cer<0.05', { quality: { cer: 0.0499 } }), true);
  assert.equal(at('cer<=0.05', { quality: { cer: 0.0501 } }), false);
});

test('CER is lower-is-better: a ceiling met below it and missed above it, relative ceilings add to the baseline', () => {
  const cer = parseConstraint('cer<=+1pt');
  assert.deepEqual(cer, { kind: 'quality', metric: 'cer', op: '<=', mode: 'relative', value: 0.01, text: 'cer<=+1pt' });
  const base = { quality: { cer: 0.05 } };
  const better = checkConstraints([cer], { quality: { cer: 0.02 } }, base)[0]!;
  assert.equal(better.ok, true);
  assert.equal(better.missBy, 0);
  assert.ok(Math.abs(better.bound - 0.06) < 1e-12);
  const worse = checkConstraints([cer], { quality: { cer: 0.09 } }, base)[0]!;
  assert.equal(worse.ok, false);
  assert.ok(Math.abs(worse.missBy - 0.03 / 0.06) < 1e-9, `missBy ${worse.missBy}`);
  // An accuracy floor the other way round: higher passes, lower fails.
  const acc = parseConstraint('accuracy>=-2pt');
  assert.equal(checkConstraints([acc], { quality: { accuracy: 0.99 } }, { quality: { accuracy: 0.9 } })[0]!.ok, true);
  const low = checkConstraints([acc], { quality: { accuracy: 0.79 } }, { quality: { accuracy: 0.9 } })[0]!;
  assert.equal(low.ok, false);
  assert.ok(Math.abs(low.bound - 0.88) < 1e-12);
  assert.ok(Math.abs(low.missBy - 0.09 / 0.88) < 1e-9);
});

test('which metrics are lower-is-better', () => {
  for (const m of ['cer', 'CER', 'wer', 'error', 'err', 'loss', 'ece', 'mae', 'mse', 'rmse', 'cer-ws', 'cer_line', 'Loss-val'])
    assert.equal(lowerIsBetter(m), true, m);
  for (const m of ['accuracy', 'exact', 'f1', 'precer', 'cer2', 'top1', 'agreement', 'xloss']) assert.equal(lowerIsBetter(m), false, m);
});

test('quality comparisons allow 1e-9 of float noise, and no more', () => {
  const ge = [parseConstraint('accuracy>=0.9')];
  assert.equal(checkConstraints(ge, { quality: { accuracy: 0.9 - 5e-10 } })[0]!.ok, true);
  assert.equal(checkConstraints(ge, { quality: { accuracy: 0.9 - 2e-9 } })[0]!.ok, false);
  // exactly at the slack's edge: still met
  assert.equal(checkConstraints(ge, { quality: { accuracy: 0.9 - 1e-9 } })[0]!.ok, true);
  assert.equal(checkConstraints([parseConstraint('cer<=0.1')], { quality: { cer: 0.1 + 1e-9 } })[0]!.ok, true);
  const le = [parseConstraint('cer<=0.1')];
  assert.equal(checkConstraints(le, { quality: { cer: 0.1 + 5e-10 } })[0]!.ok, true);
  assert.equal(checkConstraints(le, { quality: { cer: 0.1 + 2e-9 } })[0]!.ok, false);
  // The strict forms have no slack.
  assert.equal(checkConstraints([parseConstraint('accuracy>0.9')], { quality: { accuracy: 0.9 + 1e-12 } })[0]!.ok, true);
  assert.equal(checkConstraints([parseConstraint('cer<0.1')], { quality: { cer: 0.1 - 1e-12 } })[0]!.ok, true);
  // 0.8 − 1pt in floats is not exactly 0.79; the slack lets 0.79 meet it.
  assert.equal(checkConstraints([parseConstraint('exact>=-1pt')], { quality: { exact: 0.79 } }, { quality: { exact: 0.8 } })[0]!.ok, true);
});

test('what a check reports: actual, bound, unit and the relative miss', () => {
  const cs = parseConstraints('p99<=10ms,size<=1MB,memory<=2MB,accuracy>=0.9,cer<=0');
  const f = { latency: { p99: 12 }, sizeBytes: 1.5e6, peakRssBytes: 1e6, quality: { accuracy: 0.81, cer: 0.005 } };
  const [lat, size, mem, acc, cer] = checkConstraints(cs, f);
  assert.deepEqual(lat, { constraint: 'p99<=10ms', ok: false, actual: 12, bound: 10, unit: 'ms', missBy: 0.2 });
  assert.deepEqual(size, { constraint: 'size<=1MB', ok: false, actual: 1.5e6, bound: 1e6, unit: 'bytes', missBy: 0.5 });
  assert.deepEqual(mem, { constraint: 'memory<=2MB', ok: true, actual: 1e6, bound: 2e6, unit: 'bytes', missBy: 0 });
  assert.equal(acc!.unit, 'metric');
  assert.equal(acc!.actual, 0.81);
  assert.equal(acc!.bound, 0.9);
  assert.ok(Math.abs(acc!.missBy - 0.1) < 1e-9, `accuracy missBy ${acc!.missBy}`);
  // A ceiling of 0: the miss is measured against 0.01, not divided by zero.
  assert.equal(cer!.bound, 0);
  assert.ok(Math.abs(cer!.missBy - 0.5) < 1e-9, `cer missBy ${cer!.missBy}`);
  // A latency bound of 0 (a baseline measured at 0 ms): the miss is in ms, not divided by zero.
  const zero = checkConstraints([parseConstraint('p50<=0.5x')], { latency: { p50: 2 } }, { latency: { p50: 0 } })[0]!;
  assert.equal(zero.bound, 0);
  assert.equal(zero.missBy, 2);
  // A negative bound (a relative ceiling below 0) divides by its size.
  const neg = checkConstraints([parseConstraint('p50<=0.5x')], { latency: { p50: -1 } }, { latency: { p50: -4 } })[0]!;
  assert.equal(neg.bound, -2);
  assert.equal(neg.missBy, 0.5);
});

test('missing figures are misses with a note, never passes', () => {
  const cs = parseConstraints('p99<=10ms,size<=1MB,memory<=1MB,accuracy>=0.9,exact>=-1pt,p50<=0.5x');
  const none = checkConstraints(cs, {});
  for (const c of none) {
    assert.equal(c.ok, false, c.constraint);
    assert.equal(c.missBy, Infinity, c.constraint);
    assert.equal(c.actual, undefined, c.constraint);
  }
  assert.deepEqual(
    none.map((c) => c.note),
    ['not measured', 'not measured', 'not measured', "metric 'accuracy' not among (none)", "metric 'exact' not among (none)", 'no baseline to compare with'],
  );
  assert.deepEqual(
    none.map((c) => c.unit),
    ['ms', 'bytes', 'bytes', 'metric', 'metric', 'ms'],
  );
  assert.ok(Number.isNaN(none[3]!.bound) && Number.isNaN(none[5]!.bound));
  for (const bad of [NaN, Infinity, -Infinity]) {
    const c = checkConstraints([cs[0]!], { latency: { p99: bad } })[0]!;
    assert.equal(c.ok, false, String(bad));
    assert.equal(c.note, 'not measured');
    assert.equal(c.missBy, Infinity);
  }
  // a baseline without the figure a relative constraint needs, or figures without latency at all
  assert.equal(checkConstraints([cs[5]!], { latency: { p50: 1 } }, { quality: { exact: 0.9 } })[0]!.note, 'no baseline to compare with');
  const noLatency = checkConstraints([cs[5]!], {}, { latency: { p50: 10 } })[0]!;
  assert.deepEqual(noLatency, { constraint: 'p50<=0.5x', ok: false, bound: 5, unit: 'ms', missBy: Infinity, note: 'not measured' });
  assert.equal(checkConstraints([cs[4]!], { quality: { exact: 0.9 } }, { latency: { p50: 1 } })[0]!.note, 'no baseline to compare with');
  assert.equal(checkConstraints([cs[4]!], { quality: { exact: 0.9 } })[0]!.note, 'no baseline to compare with');
  const named = checkConstraints([cs[3]!], { quality: { cer: 0.1, f1: 0.5 } })[0]!;
  assert.equal(named.note, "metric 'accuracy' not among cer, f1");
  const rel = checkConstraints([cs[4]!], { quality: { exact: 0.9 } }, { quality: {} })[0]!;
  assert.deepEqual(rel, { constraint: 'exact>=-1pt', ok: false, bound: NaN, unit: 'metric', missBy: Infinity, note: 'no baseline to compare with' });
  assert.throws(
    () => checkConstraints([{ kind: 'bogus', text: 'x' } as unknown as Constraint], {}),
    /unknown constraint kind in \{"kind":"bogus","text":"x"\}/,
  );
});

test('latency constraints: every statistic, unit, relative form and spelling', () => {
  for (const s of ['p50', 'p90', 'p95', 'p99', 'max', 'mean'])
    assert.deepEqual(parseConstraint(`${s}<=2ms`), { kind: 'latency', stat: s, op: '<=', ms: 2, text: `${s}<=2ms` });
  const ms = (s: string) => {
    const c = parseConstraint(s);
    assert.equal(c.kind, 'latency', s);
    return (c as { ms?: number }).ms;
  };
  assert.equal(ms('p50<=800us'), 0.8);
  assert.equal(ms('p50<=800µs'), 0.8);
  assert.equal(ms('p50<=3MS'), 3);
  assert.equal(ms('p50<=.5ms'), 0.5);
  assert.equal(ms('p50<=2s'), 2000);
  assert.equal(ms('p50 <= 2.5 ms'), 2.5);
  assert.equal(ms('p50<=12.25ms'), 12.25);
  assert.equal(ms('p50<=.25ms'), 0.25);
  assert.deepEqual(parseConstraint('  P99≤1ms '), { kind: 'latency', stat: 'p99', op: '<=', ms: 1, text: 'P99≤1ms' });
  assert.deepEqual(parseConstraint('p99<1ms'), { kind: 'latency', stat: 'p99', op: '<', ms: 1, text: 'p99<1ms' });
  const factor = (s: string) => (parseConstraint(s) as { factor?: number }).factor;
  assert.equal(factor('p99<=0.6x'), 0.6);
  assert.equal(factor('p99<=.5X'), 0.5);
  assert.equal(factor('p99<=2 ×'), 2);
  assert.equal(factor('p99<=12x'), 12);
  assert.equal(factor('p99<=0.25x'), 0.25);
  assert.equal(factor('p99<=.25x'), 0.25);
  assert.equal(factor('p99<=-12.25%'), 0.8775);
  assert.equal(factor('p99<=-40%'), 0.6);
  assert.equal(factor('p99<=-12.5 %'), 0.875);
  assert.deepEqual(parseConstraint('p90<-25%'), { kind: 'latency', stat: 'p90', op: '<', factor: 0.75, text: 'p90<-25%' });
});

test('latency constraints that cannot be read say why and what to write', () => {
  usage('p42<=1ms', /^unsupported latency statistic 'p42' in 'p42<=1ms'$/, /^use one of p50, p90, p95, p99, max, mean$/);
  usage('p99>=1ms', /^a latency budget is an upper bound: 'p99>=1ms' uses '>='$/, /^write it as p99<=<time>, e\.g\. "p99<=12ms"$/);
  usage('mean>1ms', /uses '>'/, /write it as mean<=<time>/);
  usage('p99<=-100%', /^a relative latency budget must leave a positive time: 'p99<=-100%'$/, /p99<=0\.6x.*p99<=-40%/);
  usage('p99<=0x', /must leave a positive time/, /60% of the baseline/);
  usage('p99<=0ms', /^a latency budget must be positive: 'p99<=0ms'$/, /^e\.g\. "p99<=12ms"$/);
  for (const bad of ['12', '40%', '12 m', 'x12ms', '12msx', '0.6xx', 'a0.6x', '--40%', '-40%%', '1.2.3ms', 'ms'])
    usage(`p99<=${bad}`, new RegExp(`^cannot read the time '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' in`), /unit: us, ms or s.*p99<=-40%/);
});

test('size and memory limits: every name and unit', () => {
  for (const n of ['size', 'model-size', 'modelsize', 'bytes', 'SIZE']) assert.equal(parseConstraint(`${n}<=1kb`).kind, 'size', n);
  for (const n of ['memory', 'mem', 'rss', 'peak-rss', 'peakrss', 'peak-memory']) assert.equal(parseConstraint(`${n}<=1kb`).kind, 'memory', n);
  const bytes = (s: string) => (parseConstraint(s) as { bytes: number }).bytes;
  assert.equal(bytes('size<=100'), 100);
  assert.equal(bytes('size<=100b'), 100);
  assert.equal(bytes('size<=2kb'), 2000);
  assert.equal(bytes('size<=2 MB'), 2e6);
  assert.equal(bytes('size<=1.5gb'), 1.5e9);
  assert.equal(bytes('size<=1.25gb'), 1.25e9);
  assert.equal(bytes('size<=2KiB'), 2048);
  assert.equal(bytes('size<=3mib'), 3 * 1024 * 1024);
  assert.equal(bytes('size<=1GiB'), 1024 ** 3);
  assert.deepEqual(parseConstraint('rss<5MB'), { kind: 'memory', op: '<', bytes: 5e6, text: 'rss<5MB' });
  usage('size>=1MB', /^a size limit is an upper bound: 'size>=1MB' uses '>='$/, /^write it as size<=<bytes>, e\.g\. "size<=20MB"$/);
  usage('memory>1MB', /^a memory limit is an upper bound/, /memory<=20MB/);
  usage('size<=0MB', /^a size limit must be positive: 'size<=0MB'$/, /^e\.g\. "size<=20MB"$/);
  usage('mem<=0', /^a memory limit must be positive/, /mem<=20MB/);
  for (const bad of ['big', '2tb', '2mbx', 'x2mb', '-2MB'])
    usage(`size<=${bad}`, new RegExp(`^cannot read the size '${bad}' in 'size<=${bad}'$`), /B, KB, MB, GB, KiB, MiB or GiB/);
});

test('quality floors: relative in points or from the baseline, absolute as a fraction or percent', () => {
  const q = (s: string) => {
    const c = parseConstraint(s);
    assert.equal(c.kind, 'quality', s);
    return c as Extract<Constraint, { kind: 'quality' }>;
  };
  const near = (a: number, b: number, s: string) => assert.ok(Math.abs(a - b) < 1e-12, `${s}: ${a} vs ${b}`);
  for (const [s, v] of [
    ['exact>=-1pt', -0.01],
    ['exact>=+0.5pt', 0.005],
    ['exact>=2pts', 0.02],
    ['exact>=- 1 pt', -0.01],
    ['exact>=-1PT', -0.01],
    ['exact>=-12pt', -0.12],
    ['exact>=+0.25pt', 0.0025],
    ['exact>=12pts', 0.12],
    ['exact>=1.25pt', 0.0125],
    ['exact>=baseline-0.01', -0.01],
    ['exact>=baseline+0.02', 0.02],
    ['exact>=baseline - 2pts', -0.02],
    ['exact>=BASELINE+1pt', 0.01],
    ['exact>=baseline', 0],
    ['exact>=baseline-12pt', -0.12],
    ['exact>=Baseline', 0],
  ] as const) {
    const c = q(s);
    assert.equal(c.mode, 'relative', s);
    near(c.value, v, s);
  }
  for (const [s, v] of [
    ['accuracy>=0.97', 0.97],
    ['accuracy>=97%', 0.97],
    ['accuracy>=1', 1],
    ['accuracy>=100%', 1],
    ['accuracy>=0', 0],
    ['accuracy > 0.5', 0.5],
  ] as const) {
    const c = q(s);
    assert.equal(c.mode, 'absolute', s);
    near(c.value, v, s);
  }
  assert.deepEqual(parseConstraint('Exact.Match≥0.9'), {
    kind: 'quality',
    metric: 'exact.match',
    op: '>=',
    mode: 'absolute',
    value: 0.9,
    text: 'Exact.Match≥0.9',
  });
  assert.equal(q('top-1>0.9').op, '>');
  assert.equal(q('cer<0.1').op, '<');
  assert.equal(q('cer≤0.1').op, '<=');
});

test('quality floors that cannot be read say why and what to write', () => {
  usage(
    'accuracy<=0.9',
    /^the quality constraint 'accuracy<=0\.9' points the wrong way: accuracy is higher-is-better$/,
    /^write it as accuracy>=<value>, e\.g\. "accuracy>=0\.97"$/,
  );
  usage('accuracy<0.9', /points the wrong way/, /accuracy>=<value>/);
  usage('cer>=0.1', /^the quality constraint 'cer>=0\.1' points the wrong way: cer is lower-is-better$/, /^write it as cer<=<value>, e\.g\. "cer<=0\.05"$/);
  usage('wer>0.1', /points the wrong way: wer is lower-is-better/, /wer<=<value>/);
  usage(
    'accuracy>=97',
    /^the quality floor 'accuracy>=97' is above 1$/,
    /^metrics are fractions: write accuracy>=0\.97 or accuracy>=97%; for a change from the baseline write e\.g\. "accuracy>=-1pt"$/,
  );
  usage('accuracy>=1.01', /is above 1/, /accuracy>=0\.0101 or accuracy>=1\.01%/);
  for (const bad of ['lots', '-0.5', '1pt2', 'x1pt', 'baseline*2', 'baselinex', 'xbaseline', '0.5%%', '+-1pt', 'xbaseline-0.01', 'baseline-0.01x'])
    usage(
      `accuracy>=${bad}`,
      new RegExp(`^cannot read the quality value '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' in`),
      /^use an absolute value \("accuracy>=0\.97", "accuracy>=97%"\) or a change from the baseline in points \("accuracy>=-1pt"\)$/,
    );
});

test('a constraint string that is not <what><op><value>, and lists of them', () => {
  const EX =
    /^examples: "p99<=12ms", "p50<5ms", "p99<=0\.6x" \(of the source model\), "exact>=-1pt", "accuracy>=0\.97", "cer<=0\.05", "size<=20MB", "memory<=300MB"$/;
  usage('p99', /^cannot read the constraint 'p99': expected <what><op><value>$/, EX);
  usage('9x<=1ms', /expected <what><op><value>/, EX);
  usage('<=1ms', /expected <what><op><value>/, EX);
  usage('p99<=1ms\nsize<=1MB', /expected <what><op><value>/, EX);
  // a name that only ends or only starts like a percentile is a metric, not a latency statistic
  usage('xp42<=1ms', /points the wrong way/, /xp42>=<value>/);
  usage('p42x<=1ms', /points the wrong way/, /p42x>=<value>/);
  usage(' ,; ', /^empty constraint ' ,; '$/, EX);
  assert.deepEqual(
    parseConstraints(' p99<=1ms ;; size<=1MB, ').map((c) => c.text),
    ['p99<=1ms', 'size<=1MB'],
  );
  assert.deepEqual(
    parseConstraints('accuracy>=0.9;cer<=0.1').map((c) => c.kind),
    ['quality', 'quality'],
  );
});

test('which metric a constraint names: exact name, then the same letters, then a prefix, then a part', () => {
  assert.equal(resolveMetric('exact', ['exact-match', 'exact']), 'exact');
  assert.equal(resolveMetric('exact', ['Exact', 'exact']), 'exact');
  assert.equal(resolveMetric('cer', ['cer-ws', 'CER']), 'CER');
  assert.equal(resolveMetric('Exact_Match', ['exactmatch']), 'exactmatch');
  assert.equal(resolveMetric('exact_match-rate', ['rate', 'Exact.Match.Rate']), 'Exact.Match.Rate');
  assert.equal(resolveMetric('acc', ['top1-accuracy', 'accuracy']), 'accuracy');
  assert.equal(resolveMetric('match', ['cer', 'exact-match']), 'exact-match');
  assert.equal(resolveMetric('f1', ['accuracy', 'cer']), undefined);
  assert.equal(resolveMetric('a', []), undefined);
});

test('how a check reads: ms to 2 places, bytes in SI units, metrics to 4 places', () => {
  const [lat, size, acc] = checkConstraints(parseConstraints('p99<=12ms,size<=20MB,accuracy>=0.9'), {
    latency: { p99: 14.2 },
    sizeBytes: 5e6,
    quality: { accuracy: 0.91234 },
  });
  assert.equal(describeCheck(lat!), 'p99<=12ms: 14.20 ms misses 12.00 ms');
  assert.equal(describeCheck(size!), 'size<=20MB: 5.00 MB meets 20.00 MB');
  assert.equal(describeCheck(acc!), 'accuracy>=0.9: 0.9123 meets 0.9000');
  assert.equal(describeCheck(checkConstraints(parseConstraints('p99<=1ms'), {})[0]!), 'p99<=1ms: not measured');
  assert.equal(formatBytes(1e9), '1.00 GB');
  assert.equal(formatBytes(2.5e9), '2.50 GB');
  assert.equal(formatBytes(1e9 - 1e4), '999.99 MB');
  assert.equal(formatBytes(1e6), '1.00 MB');
  assert.equal(formatBytes(999_999), '1000.0 KB');
  assert.equal(formatBytes(1000), '1.0 KB');
  assert.equal(formatBytes(999), '999 B');
});
