// CTC against brute force: for tiny T and C every path (C^T of them) is enumerated, collapsed (repeats
// merged, blanks dropped) and summed, which gives the loss and the per-frame class posteriors exactly;
// the gradient softmax − γ is checked against central differences of that brute-force loss.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ctcAlign, ctcTargets, minFrames } from './ctc.js';
import { Rng } from './rng.js';

function logSoftmax(z: number[], T: number, C: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const row = z.slice(t * C, (t + 1) * C);
    const m = Math.max(...row);
    const lz = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    out.push(...row.map((v) => v - lz));
  }
  return out;
}

function collapse(path: number[], blank: number): number[] {
  const out: number[] = [];
  path.forEach((k, t) => {
    if (k !== blank && (t === 0 || path[t - 1] !== k)) out.push(k);
  });
  return out;
}

/** p(label | x) and the unnormalised posteriors Σ_{paths → label, π_t = k} p(π), by enumeration. */
function brute(logp: number[], T: number, C: number, label: number[], blank: number): { p: number; occ: number[] } {
  const occ = new Array<number>(T * C).fill(0);
  let p = 0;
  for (let code = 0; code < C ** T; code++) {
    const path = Array.from({ length: T }, (_, t) => Math.floor(code / C ** t) % C);
    if (collapse(path, blank).join() !== label.join()) continue;
    const pp = Math.exp(path.reduce((a, k, t) => a + logp[t * C + k]!, 0));
    p += pp;
    path.forEach((k, t) => {
      occ[t * C + k]! += pp;
    });
  }
  return { p, occ };
}

const randomLogits = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 1.5 * rng.normal());
};

const C = 3;
const LABELS = [[], [1], [2], [1, 2], [2, 1], [1, 1], [2, 2, 1], [1, 2, 1], [1, 1, 2]];

test('loss and γ equal brute-force enumeration over all alignments (blank 0 and blank 2)', () => {
  let checked = 0;
  for (const blank of [0, 2])
    for (let T = 1; T <= 5; T++)
      for (const [j, label0] of LABELS.entries()) {
        // with blank 2 the symbols are 0 and 1
        const label = blank === 2 ? label0.map((k) => k - 1) : label0;
        const logp = logSoftmax(randomLogits(T * C, 100 * T + j), T, C);
        const r = ctcAlign(logp, T, C, label, blank);
        const b = brute(logp, T, C, label, blank);
        if (b.p === 0) {
          assert.equal(r.feasible, false, `T ${T} label ${label}: no path, so infeasible`);
          continue;
        }
        assert.ok(r.feasible, `T ${T} label ${label}`);
        assert.ok(Math.abs(r.loss + Math.log(b.p)) < 1e-9, `T ${T} label [${label}] blank ${blank}: ${r.loss} vs ${-Math.log(b.p)}`);
        for (let t = 0; t < T; t++) {
          let rowSum = 0;
          for (let k = 0; k < C; k++) {
            rowSum += r.gamma[t * C + k]!;
            assert.ok(Math.abs(r.gamma[t * C + k]! - b.occ[t * C + k]! / b.p) < 1e-6, `γ[${t}, ${k}] T ${T} label [${label}] blank ${blank}`);
          }
          assert.ok(Math.abs(rowSum - 1) < 1e-6, `γ row ${t} sums to ${rowSum}`);
        }
        checked++;
      }
  assert.ok(checked > 60, `only ${checked} feasible cases`);
});

test('the gradient softmax(z) − γ matches central differences of the brute-force loss w.r.t. the logits', () => {
  const T = 4;
  for (const [j, label] of [[1, 2], [1, 1], [2], []].entries()) {
    const z = randomLogits(T * C, 7 + j);
    const lossOf = (v: number[]) => -Math.log(brute(logSoftmax(v, T, C), T, C, label, 0).p);
    const r = ctcAlign(logSoftmax(z, T, C), T, C, label, 0);
    const p = logSoftmax(z, T, C).map(Math.exp);
    const h = 1e-5;
    for (let i = 0; i < T * C; i++) {
      const [up, down] = [z.slice(), z.slice()];
      up[i]! += h;
      down[i]! -= h;
      const fd = (lossOf(up) - lossOf(down)) / (2 * h);
      const analytic = p[i]! - r.gamma[i]!;
      assert.ok(Math.abs(fd - analytic) < 1e-5, `label [${label}] dL/dz[${i}]: finite differences ${fd}, softmax − γ ${analytic}`);
    }
  }
});

test('minFrames counts a blank between equal neighbours', () => {
  assert.equal(minFrames([]), 0);
  assert.equal(minFrames([1, 2, 3]), 3);
  assert.equal(minFrames([1, 1, 2, 2, 2]), 8);
});

test('a label longer than the frames allow: infeasible, Infinity loss, zero γ, weight 0 in the batch, no NaN', () => {
  const T = 3;
  const logp = logSoftmax(randomLogits(T * C, 3), T, C);
  const r = ctcAlign(logp, T, C, [1, 1, 1], 0); // needs 5 frames
  assert.equal(r.feasible, false);
  assert.equal(r.loss, Infinity);
  assert.ok(r.gamma.every((v) => v === 0));

  const logits = Float32Array.from(randomLogits(3 * T * C, 4));
  const b = ctcTargets(logits, [3, T, C], [[1, 1, 1], [2, 1], undefined], 0);
  assert.equal(b.feasible, 1);
  assert.deepEqual(Array.from(b.weight), [0, 0, 0, 1, 1, 1, 0, 0, 0]);
  assert.ok(b.target.every((v) => Number.isFinite(v)));
  assert.ok(b.target.subarray(0, T * C).every((v) => v === 0));
  assert.equal(b.loss[0], Infinity);
  assert.equal(b.loss[2], Infinity);
  assert.ok(Number.isFinite(b.meanLoss) && b.meanLoss === b.loss[1]);
  const none = ctcTargets(logits, [3, T, C], [[1, 1, 1], undefined, [2, 2, 2, 2]], 0);
  assert.equal(none.feasible, 0);
  assert.ok(none.weight.every((v) => v === 0) && Number.isNaN(none.meanLoss));
});

test('the batch helper matches the single-sequence one, rows weighted 1/feasible', () => {
  const T = 4;
  const logits = Float32Array.from(randomLogits(2 * T * C, 9));
  const b = ctcTargets(logits, [2, T, C], [[1], [2, 2]], 0);
  for (const [i, label] of [[1], [2, 2]].entries()) {
    const one = ctcAlign(logSoftmax(Array.from(logits.subarray(i * T * C, (i + 1) * T * C)), T, C), T, C, label, 0);
    assert.ok(Math.abs(b.loss[i]! - one.loss) < 1e-6);
    for (const [k, v] of b.target.subarray(i * T * C, (i + 1) * T * C).entries()) assert.ok(Math.abs(v - one.gamma[k]!) < 1e-6);
  }
  assert.ok(b.weight.every((w) => w === 0.5));
  assert.ok(Math.abs(b.meanLoss - (b.loss[0]! + b.loss[1]!) / 2) < 1e-12);
});

test('a symbol that is the blank or outside the classes is refused', () => {
  const logp = logSoftmax(randomLogits(2 * C, 1), 2, C);
  assert.throws(() => ctcAlign(logp, 2, C, [0], 0), /not a class/);
  assert.throws(() => ctcAlign(logp, 2, C, [3], 0), /not a class/);
});
