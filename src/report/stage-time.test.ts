import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { lineageSummary } from './lineage-fixture.js';
import { timeByStage } from './stage-time.js';

test('time per stage: builds by stage name (cache hits cost nothing), screening, full measurements, and the rest', () => {
  const s = lineageSummary();
  const rows = Object.fromEntries(timeByStage(s).map((r) => [r.what, r]));
  // recover: built for prune 0.25 (48 s), prune 0.5 (9 s) and the longer recovery (170 s); twice from the cache
  assert.deepEqual(
    { runs: rows.recover!.runs, ms: rows.recover!.ms, cacheHits: rows.recover!.cacheHits, resumed: rows.recover!.resumed },
    { runs: 3, ms: 227_000, cacheHits: 2, resumed: 0 },
  );
  assert.deepEqual({ runs: rows.qat!.runs, ms: rows.qat!.ms, resumed: rows.qat!.resumed }, { runs: 1, ms: 95_000, resumed: 1 });
  assert.equal(rows['quantize-static']!.ms, 3200 + 2900);
  assert.equal(rows['quantize-static']!.cacheHits, 1);
  const screened = s.candidates.filter((c) => c.screen);
  assert.equal(rows.screening!.runs, screened.length);
  assert.equal(
    rows.screening!.ms,
    screened.reduce((t, c) => t + c.screen!.wallMs, 0),
  );
  assert.equal(rows['full measurement']!.runs, s.candidates.filter((c) => c.full).length);
  const rest = timeByStage(s).find((r) => r.kind === 'other')!;
  const total = timeByStage(s).reduce((t, r) => t + r.ms, 0);
  assert.ok(Math.abs(total - s.elapsedSec * 1000) < 1e-6, 'the rows add up to the elapsed time');
  assert.ok(rest.ms > 0);
});
