import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType } from '../../onnx/dtype.js';
import type { Feeds } from '../pass.js';
import { ClassScan, type ScoreKind } from './class-use.js';

const C = 3;
const T = 5;
/** x [N, T, C] → Softmax (or Identity): the scores are whatever is fed, so every count is known. */
function passThrough(softmax: boolean) {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['n', T, C]);
  b.output(b.op(softmax ? 'Softmax' : 'Identity', [x], softmax ? { axis: -1 } : {}), DataType.FLOAT, ['n', T, C]);
  return b.model();
}

/** Frames whose arg max follows `picks` (scores 4 for the pick, 0 elsewhere). */
const frames = (picks: number[]) => Float32Array.from(picks.flatMap((k) => Array.from({ length: C }, (_, c) => (c === k ? 4 : 0))));
const stream = (batches: number[][][]) => () =>
  (async function* (): AsyncIterable<Feeds> {
    for (const rows of batches) yield { x: { type: 'float32', dims: [rows.length, T, C], data: frames(rows.flat()) } };
  })();

async function scan(batches: number[][][], kind: ScoreKind = 'logit', maxSamples = 100) {
  const s = await ClassScan.open(
    passThrough(kind === 'prob'),
    { output: passThrough(kind === 'prob').graph.outputs[0]!.name, classes: C, kind },
    stream(batches),
    maxSamples,
  );
  try {
    return { use: await s.use(), mass: await s.mass([0]) };
  } finally {
    await s.release();
  }
}

test('ClassScan: arg-max counts per class, and tokens as runs within a sample (a run does not continue into the next sample)', async () => {
  // sample 0 reads 0 0 1 1 0, sample 1 reads 0 1 1 2 2: class 0 has 3 runs (the one starting sample 1 is its own)
  const { use } = await scan([
    [
      [0, 0, 1, 1, 0],
      [0, 1, 1, 2, 2],
    ],
  ]);
  assert.deepEqual([...use.top], [4, 4, 2]);
  assert.deepEqual([...use.tokens], [3, 2, 1]);
  assert.equal(use.frames, 10);
  assert.equal(use.samples, 2);
  // the same samples in two batches of one: the same counts
  const split = await scan([[[0, 0, 1, 1, 0]], [[0, 1, 1, 2, 2]]]);
  assert.deepEqual([...split.use.tokens], [3, 2, 1]);
  assert.deepEqual([...split.use.top], [4, 4, 2]);
});

test('ClassScan: probabilities from logits (softmax) and as given; largest per class; mass mean and least', async () => {
  const p4 = Math.exp(4) / (Math.exp(4) + 2); // a frame's pick
  const p0 = 1 / (Math.exp(4) + 2); // the others
  for (const kind of ['logit', 'prob'] as const) {
    const { use, mass } = await scan([[[0, 0, 1, 0, 0]]], kind);
    for (const [c, want] of [p4, p4, p0].entries()) assert.ok(Math.abs(use.maxProb[c]! - want) < 1e-6, `${kind} class ${c}: ${use.maxProb[c]} vs ${want}`);
    // class 0 holds p4 on 4 frames and p0 on one
    assert.ok(Math.abs(mass.mean - (4 * p4 + p0) / 5) < 1e-6, `${kind} mean ${mass.mean}`);
    assert.ok(Math.abs(mass.min - p0) < 1e-6, `${kind} min ${mass.min}`);
  }
});

test('ClassScan: stops after maxSamples samples, counting whole batches', async () => {
  const b = [[[0, 0, 0, 0, 0]], [[1, 1, 1, 1, 1]], [[2, 2, 2, 2, 2]]];
  const { use } = await scan(b, 'logit', 2);
  assert.equal(use.samples, 2);
  assert.deepEqual([...use.top], [5, 5, 0]);
  const all = await scan(b, 'logit', 3);
  assert.deepEqual([...all.use.top], [5, 5, 5]);
});
