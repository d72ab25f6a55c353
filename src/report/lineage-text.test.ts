import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lineageSummary } from './lineage-fixture.js';
import { lineageTree } from './lineage.js';
import { lineageText, runLineageText } from './lineage-text.js';

const lines = () => lineageText(lineageTree(lineageSummary()));
const lineOf = (all: string[], head: string) => {
  const l = all.find((x) => x.includes(head));
  assert.ok(l, `no line for ${head}:\n${all.join('\n')}`);
  return l;
};

test('lineage text: the source at the root, each chain under its parent with box characters, the last child with └─', () => {
  const all = lines();
  assert.match(all[0]!, /^fp32 \(source\)\s+p99 +\d+\.\d\d ms \(full\) {2}cer 0\.0400$/);
  assert.match(lineOf(all, '+ quantize-static  '), /^├─ \+ quantize-static /);
  // qat hangs under quantize-static, recover 240 under prune → recover 60, both one level in
  assert.match(lineOf(all, '+ qat 100'), /^│ {2}└─ \+ qat 100 /);
  assert.match(lineOf(all, '+ recover 240'), /^│ {2}└─ \+ recover 240 /);
  assert.match(lineOf(all, '+ prune-structured 0.25 → recover 60'), /^├─ /);
  assert.match(all.at(-1)!, /^└─ \+ quantize-int4/);
  // a node's children come right after it
  const i = all.findIndex((l) => l.includes('+ prune-structured 0.25 → recover 60'));
  assert.match(all[i + 1]!, /^│ {2}├─ \+ quantize-static /);
});

test("lineage text: each node's own figures, build time, resume and verdict", () => {
  const all = lines();
  const chosen = lineOf(all, '+ qat 100');
  assert.match(chosen, /p99 +9\.\d\d ms \(full\) {2}cer 0\.0450 {2}built 1\.6 min, resumed at step 40 {2}CHOSEN$/);
  assert.match(lineOf(all, '+ quantize-dynamic'), /\(screened\) {2}cer 0\.0500 {2}built 0\.8 s {2}dropped: slower than the budget at screening$/);
  assert.match(lineOf(all, '+ prune-structured 0.5'), /not measured {2}built 10\.1 s {2}failed: recover diverged: loss NaN at step 12$/);
  assert.match(lineOf(all, '+ quantize-int4'), /no-change: the built model is byte-identical to the source$/);
  const tree = lineageTree(lineageSummary());
  tree.children.at(-1)!.why = `${'a'.repeat(47)}bcd`;
  assert.match(lineageText(tree).at(-1)!, / no-change: a{47}…$/, 'a why over 48 characters is cut at 47');
  assert.match(lineOf(all, '+ recover 240'), /built 2\.8 min {2}rejected: p99<=10ms/);
  assert.equal(all.filter((l) => l.includes('CHOSEN')).length, 1);
});

test('lineage text: figures start in one column; a chain wider than the cap goes on to the next line', () => {
  const all = lines();
  const cols = all.map((l) => l.search(/ (p99|not measured)/));
  assert.equal(new Set(cols).size, 1, all.join('\n'));
  const narrow = lineageText(lineageTree(lineageSummary()), 20);
  const wide = narrow.find((l) => l.includes('+ prune-structured 0.25 → recover 60'))!;
  assert.match(wide, /recover 60\n {22}p99 /);
});

test('runLineageText: a heading and the tree indented; nothing for a run without chains', () => {
  const s = lineageSummary();
  const out = runLineageText(s);
  assert.match(out[0]!, /^Lineage/);
  assert.equal(out.length, lines().length + 1);
  assert.ok(out.slice(1).every((l) => l.startsWith('  ')));
  const flat = { ...s, candidates: s.candidates.filter((c) => c.config.passes.length <= 1).map((c) => ({ ...c, parentId: undefined, stageTimes: undefined })) };
  assert.deepEqual(runLineageText(flat), []);
});
