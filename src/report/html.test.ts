import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import type { Summary } from '../search/types.js';
import { renderReport } from './html.js';
import { lineageSummary } from './lineage-fixture.js';

test('a run with chains: lineage tree, ladder and time per stage; Pareto dots labelled by chain, the front over every chain', () => {
  const html = renderReport(lineageSummary());
  assert.match(html, /<ul class="lineage" id="lineage">/);
  assert.equal((html.match(/<li class="node[^"]*" data-node=/g) ?? []).length, 10);
  assert.match(html, /<table id="ladder">/);
  assert.deepEqual(
    [...html.matchAll(/<tr data-rung="([^"]+)"/g)].map((m) => m[1]),
    ['fp32-ext', 'prr', 'qq', 'prq'],
    'most accurate first, fastest last',
  );
  assert.match(html, /<table id="stage-times">/);
  const front = [...html.matchAll(/<g class="candidate on-front" data-candidate="([^"]+)"/g)].map((m) => m[1]).sort();
  assert.deepEqual(front, ['fp32-ext', 'prq', 'prr', 'qq']);
  assert.match(html, /<text class="ptlabel"[^>]*>quantize-static → qat 100<\/text>/, 'the chain with a training stage is labelled by its chain');
});

test('an old summary (no chains, no stage times) has no lineage or time section, and still its ladder', () => {
  const s = lineageSummary();
  const old: Summary = {
    ...s,
    candidates: s.candidates.filter((c) => c.config.passes.length <= 1).map(({ stageTimes: _t, parentId: _p, ...c }) => c),
  };
  const html = renderReport(old);
  assert.doesNotMatch(html, /id="lineage"|id="stage-times"/);
  assert.match(html, /<table id="ladder">/);
  assert.match(html, /<table id="candidates">/);
});
