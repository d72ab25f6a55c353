import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { latencyFigures } from '../search/stats.js';
import type { CandidateResult, Measurement, Summary } from '../search/types.js';
import type { Step } from './chain-text.js';
import { lineageSummary } from './lineage-fixture.js';
import { alignStageTimes, lineageTree, type LineageNode } from './lineage.js';

const step = (name: string, params: Step['params'] = {}): Step => ({ name, params });
const m = (ms: number, q: number, metric = 'cer'): Measurement => ({
  stage: 'full',
  latency: latencyFigures([ms * 0.99, ms, ms, ms * 1.01]),
  quality: { primary: { name: metric, value: q, ci: [q - 0.01, q + 0.01] }, metrics: {}, n: 10, perItem: [], source: 'task' },
  measuredAt: '',
  wallMs: 1,
});
const cand = (id: string, passes: Step[], more: Partial<CandidateResult> = {}): CandidateResult => ({
  id,
  config: { label: id, passes, session: { graphOptimizationLevel: 'all', disabledOptimizers: [] } },
  status: 'ok',
  passRecords: [],
  full: m(10, 0.05),
  ...more,
});
const summary = (candidates: CandidateResult[]): Summary => ({ baseline: 'base', objective: 'p50', candidates }) as unknown as Summary;
const base = cand('base', [], { full: m(20, 0.04) });

/** child id → parent id, and how it was found, over the whole tree. */
function parents(root: LineageNode): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (n: LineageNode) =>
    n.children.forEach((c) => {
      out[c.id] = `${n.id} (${c.via})`;
      walk(c);
    });
  walk(root);
  return out;
}

const prune = step('prune-structured', { ratio: 0.25 });
const recover = step('recover', { steps: 60 });
const qs = step('quantize-static');

test('a chain hangs from the candidate whose chain is its own minus the last step; the longest prefix there is; else the source', () => {
  const tree = lineageTree(
    summary([
      base,
      cand('p', [prune]),
      cand('pr', [prune, recover]),
      cand('prq', [prune, recover, qs]),
      // its one-step-shorter prefix (qs → qat) is not a candidate: it hangs from qs
      cand('qs', [qs]),
      cand('qqq', [qs, step('qat', { steps: 100 }), step('recover', { steps: 10 })]),
      cand('alone', [step('qat', { steps: 100 }), qs]),
    ]),
  );
  assert.deepEqual(parents(tree), {
    p: 'base (baseline)',
    pr: 'p (prefix)',
    prq: 'pr (prefix)',
    qs: 'base (baseline)',
    qqq: 'qs (prefix)',
    alone: 'base (baseline)',
  });
  // the edge names the steps the child added to its parent's chain
  const qqq = tree.children.find((c) => c.id === 'qs')!.children[0]!;
  assert.equal(qqq.edge!.text, 'qat 100 → recover 10');
});

test('parameters are part of the chain: prune 0.5 is not the prefix of prune 0.25 → recover', () => {
  const tree = lineageTree(summary([base, cand('p50', [step('prune-structured', { ratio: 0.5 })]), cand('pr', [prune, recover])]));
  assert.deepEqual(parents(tree), { p50: 'base (baseline)', pr: 'base (baseline)' });
});

test('parentId wins over the prefix; an unknown or looping parentId falls back', () => {
  const tree = lineageTree(
    summary([
      base,
      cand('pr', [prune, recover]),
      cand('other', [qs]),
      cand('picked', [prune, recover, qs], { parentId: 'other' }),
      cand('ghost', [prune, recover, step('recover', { steps: 240 })], { parentId: 'no-such-id' }),
      cand('lost', [step('fp16')], { parentId: 'no-such-id' }),
      cand('x', [step('a')], { parentId: 'y' }),
      cand('y', [step('b')], { parentId: 'x' }),
    ]),
  );
  const p = parents(tree);
  assert.equal(p.picked, 'other (parentId)');
  assert.equal(p.ghost, 'pr (prefix)');
  assert.equal(p.lost, 'base (baseline)');
  // a loop is cut at the first node walked: every candidate is still in the tree, once
  assert.equal(p.x, 'base (baseline)');
  assert.equal(p.y, 'x (parentId)');
  assert.equal(Object.keys(p).length, 7);
});

test('edges: latency bought (negative ms, speed-up above 1) and quality cost (sign by the metric), with both ends and their intervals', () => {
  const tree = lineageTree(
    summary([
      base,
      cand('q', [qs], { full: m(8, 0.06) }),
      cand('qat', [qs, step('qat')], { full: m(10, 0.045) }),
      cand('failed', [step('fp16')], { status: 'failed', error: 'boom', full: undefined }),
    ]),
  );
  const q = tree.children[0]!;
  const l = q.edge!.latency!;
  assert.equal(l.stat, 'p50');
  assert.equal(l.parent.ms, 20);
  assert.equal(l.child.ms, 8);
  assert.equal(l.deltaMs, -12);
  assert.equal(l.speedup, 2.5);
  assert.ok(l.parent.msCi && l.child.msCi && l.child.msCi[0] <= 8 && l.child.msCi[1] >= 8, 'intervals from latency.ci');
  const qq = q.edge!.quality!;
  assert.ok(Math.abs(qq.delta - 0.02) < 1e-12);
  assert.equal(qq.worse, true, 'a higher CER is worse');
  assert.deepEqual(qq.parent.ci, [0.03, 0.05]);
  assert.deepEqual(qq.child.ci, [0.06 - 0.01, 0.06 + 0.01]);
  const qat = q.children[0]!.edge!;
  assert.ok(qat.latency!.deltaMs > 0 && qat.latency!.speedup < 1, 'slower: positive delta, speed-up below 1');
  assert.ok(qat.quality!.delta < 0);
  assert.equal(qat.quality!.worse, false, 'a lower CER is better');
  // a higher-is-better metric: lower is worse
  const acc = lineageTree(summary([cand('base', [], { full: m(20, 0.9, 'accuracy') }), cand('a', [qs], { full: m(10, 0.85, 'accuracy') })]));
  assert.equal(acc.children[0]!.edge!.quality!.worse, true);
  // no measurement, no deltas; failed nodes are greyed with their reason
  const failed = tree.children[1]!;
  assert.equal(failed.edge!.latency, undefined);
  assert.equal(failed.greyed, true);
  assert.equal(failed.verdict, 'failed');
  assert.equal(failed.why, 'boom');
});

test('an edge compares like with like: both full, else both screened, else each one latest', () => {
  const scr = (ms: number, q: number): Measurement => ({ ...m(ms, q), stage: 'screen' });
  const tree = lineageTree(
    summary([
      base,
      // parent screened (12 ms) and measured in full (9 ms); its child only screened (11 ms)
      cand('q', [qs], { screen: scr(12, 0.06), full: m(9, 0.05) }),
      cand('qat', [qs, step('qat')], { screen: scr(11, 0.04), full: undefined }),
      // both full: the full figures, not the screens
      cand('k', [qs, step('keep')], { screen: scr(30, 0.2), full: m(8, 0.05) }),
      // the parent only screened, the child only in full: each one's own
      cand('p', [step('prune')], { screen: scr(15, 0.3), full: undefined }),
      cand('pr', [step('prune'), step('recover')], { full: m(14, 0.05) }),
    ]),
  );
  const q = tree.children.find((n) => n.id === 'q')!;
  const qat = q.children.find((n) => n.id === 'qat')!.edge!.latency!;
  assert.deepEqual([qat.parent.stage, qat.parent.ms, qat.child.stage, qat.child.ms], ['screen', 12, 'screen', 11]);
  assert.ok(qat.speedup > 1, 'the screened child is faster than the screened parent');
  const k = q.children.find((n) => n.id === 'k')!.edge!.latency!;
  assert.deepEqual([k.parent.stage, k.parent.ms, k.child.stage, k.child.ms], ['full', 9, 'full', 8]);
  const pr = tree.children.find((n) => n.id === 'p')!.children[0]!.edge!.latency!;
  assert.deepEqual([pr.parent.stage, pr.parent.ms, pr.child.stage, pr.child.ms], ['screen', 15, 'full', 14]);
});

test('build times: the added steps only, cached steps cost nothing, resumed ones say from which step', () => {
  const tree = lineageTree(
    summary([
      base,
      cand('pr', [prune, recover], {
        stageTimes: [
          { stage: 'prune-structured', wallMs: 1000, cached: false },
          { stage: 'recover', wallMs: 40_000, cached: false, resumedFromStep: 30 },
        ],
      }),
      cand('prq', [prune, recover, qs], {
        stageTimes: [
          { stage: 'prune-structured', wallMs: 5, cached: true },
          { stage: 'recover', wallMs: 5, cached: true },
          { stage: 'quantize-static', wallMs: 2000, cached: false },
        ],
      }),
    ]),
  );
  const pr = tree.children[0]!;
  assert.equal(pr.edge!.buildMs, 41_000);
  assert.equal(pr.edge!.build[1]!.resumedFromStep, 30);
  const prq = pr.children[0]!;
  assert.equal(prq.edge!.build.length, 1);
  assert.equal(prq.edge!.build[0]!.stage, 'quantize-static');
  assert.equal(prq.edge!.buildMs, 2000);
});

test('stage times line up with steps by name, by position when the names differ but the counts agree', () => {
  const t = (stage: string) => ({ stage, wallMs: 1, cached: false });
  assert.deepEqual(
    alignStageTimes([prune, recover, recover], [t('prune-structured'), t('recover'), t('recover')]).map((x) => x?.stage),
    ['prune-structured', 'recover', 'recover'],
  );
  assert.deepEqual(
    alignStageTimes([prune, qs], [t('quantize-static')]).map((x) => x?.stage),
    [undefined, 'quantize-static'],
  );
  assert.deepEqual(
    alignStageTimes([prune, qs], [t('k1'), t('k2')]).map((x) => x?.stage),
    ['k1', 'k2'],
  );
  assert.deepEqual(alignStageTimes([prune], undefined), [undefined]);
});

test('the fixture: prune → recover with its quantized and longer-recovered children, quantize-static → qat, greyed failures', () => {
  const tree = lineageTree(lineageSummary());
  assert.deepEqual(parents(tree), {
    'fp32-ext': 'base (baseline)',
    qs: 'base (baseline)',
    qq: 'qs (parentId)',
    pr: 'base (baseline)',
    prq: 'pr (parentId)',
    prr: 'pr (prefix)',
    p50: 'base (baseline)',
    dyn: 'base (baseline)',
    int4: 'base (baseline)',
  });
  const all: LineageNode[] = [];
  const walk = (n: LineageNode) => (all.push(n), n.children.forEach(walk));
  walk(tree);
  assert.deepEqual(
    all.filter((n) => n.greyed).map((n) => `${n.id}:${n.verdict}`),
    ['p50:failed', 'dyn:dropped', 'int4:no-change'],
  );
  assert.equal(all.find((n) => n.id === 'qq')!.verdict, 'chosen');
  assert.equal(all.find((n) => n.id === 'fp32-ext')!.edge!.text, 'ORT opt=extended');
});
