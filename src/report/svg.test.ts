import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { placeLabels, scatter } from './svg.js';

const bounds = { left: 64, right: 700, top: 16, bottom: 372 };

test('point labels never overlap, even for dots on top of each other', () => {
  const items = [
    { x: 300, y: 200, w: 120 },
    { x: 302, y: 201, w: 90 },
    { x: 305, y: 199, w: 150 },
    { x: 310, y: 205, w: 60 },
  ];
  const at = placeLabels(items, bounds);
  const box = (i: number) => ({ x0: at[i]!.x, x1: at[i]!.x + items[i]!.w, y0: at[i]!.y - 10, y1: at[i]!.y });
  for (let i = 0; i < items.length; i++)
    for (let j = i + 1; j < items.length; j++) {
      const [a, b] = [box(i), box(j)];
      assert.ok(!(a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1), `labels ${i} and ${j} overlap`);
    }
  // a label that would run past the right edge goes to the left of its dot
  const [r] = placeLabels([{ x: 690, y: 100, w: 80 }], bounds);
  assert.equal(r!.anchor, 'end');
  assert.ok(r!.x < 690);
});

test('the scatter draws each label once, clear of the others', () => {
  const pts = ['a', 'b', 'c'].map((id, i) => ({ id, label: `candidate ${id} with a long name`, x: 10 + i * 0.01, y: 0.99, cls: 'feasible' }));
  const svg = scatter(pts, { id: 'p', xLabel: 'p99', yLabel: 'q', front: [], labels: ['a', 'b', 'c'] });
  const ys = [...svg.matchAll(/<text class="ptlabel" x="[\d.]+" y="([\d.-]+)"/g)].map((m) => Number(m[1]));
  assert.equal(ys.length, 3);
  assert.equal(new Set(ys).size, 3, 'three different lines');
});

test('a label moves off the dots it would cover', () => {
  // a dot right where the label of the first would go (above-right of it)
  const dot = { x0: 320, x1: 332, y0: 185, y1: 197 };
  const [at] = placeLabels([{ x: 300, y: 200, w: 100 }], bounds, [dot]);
  const box = { x0: at!.x, x1: at!.x + 100, y0: at!.y - 10, y1: at!.y };
  assert.ok(!(box.x0 < dot.x1 && dot.x0 < box.x1 && box.y0 < dot.y1 && dot.y0 < box.y1), 'the label clears the dot');
  const [free] = placeLabels([{ x: 300, y: 200, w: 100 }], bounds);
  assert.equal(free!.y, 192, 'with no dot in the way it sits just above-right of its own');
});
