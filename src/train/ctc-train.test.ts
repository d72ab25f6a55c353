// CTC training through ORT: the training graph's gradients equal finite differences of the mean CTC loss
// (computed in TypeScript on the forward graph's logits), training lowers that loss, and samples whose
// label is missing or does not fit the frames neither train nor produce NaN.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randn, normal, rng } from '../zoo/rng.js';
import { ctcBatchTargets, ctcGradients, openCtcLoop, trainCtc, type CtcData } from './ctc-train.js';
import { seqData as data, seqModel } from './test-seq-model.js';

const C = 5;

test('the training graph gives the gradient of the mean CTC loss (finite differences), unfit samples excluded', async () => {
  const model = seqModel(1);
  // sample 2 has no label, sample 3's needs 7 frames of the 6
  const d = data(4, [[1, 2], [3, 3], undefined, [4, 4, 4, 4]]);
  const L = await openCtcLoop(model, d, { blank: 0 });
  const params = L.tg.params.map((p) => Float32Array.from(model.graph.initializers.get(p.name)!.toFloat32()));
  const idx = [0, 1, 2, 3];
  const { x, targets } = await ctcBatchTargets(L, d, idx, params);
  assert.equal(targets.feasible, 2);
  const grads = await ctcGradients(L, x, targets, params);
  const lossAt = async (k: number, i: number, h: number) => {
    const p = params.map((v) => v.slice());
    p[k]![i]! += h;
    return (await ctcBatchTargets(L, d, idx, p)).targets.meanLoss;
  };
  const h = 1e-2;
  let checked = 0;
  for (const [k, p] of L.tg.params.entries())
    for (let i = 0; i < params[k]!.length; i += 3) {
      const fd = ((await lossAt(k, i, h)) - (await lossAt(k, i, -h))) / (2 * h);
      const g = grads[k]![i]!;
      assert.ok(Math.abs(fd - g) < 2e-3 + 2e-2 * Math.abs(fd), `${p.name}[${i}]: finite differences ${fd}, graph ${g}`);
      checked++;
    }
  assert.ok(checked > 20);
  await L.train.release();
  await L.forward.release();
});

test('CTC training lowers the CTC loss on labels alone', async () => {
  const d = data(16, [[1, 2], [3], [4, 4], [2, 1, 3]]);
  const r = await trainCtc({ model: seqModel(2), data: d, blank: 0, steps: 300, lr: 3e-2, batchSize: 8 });
  assert.equal(r.steps, 300);
  assert.equal(r.history.length, 300);
  assert.equal(r.skipped, 0);
  assert.ok(r.lossAfter < 0.5 * r.lossBefore, `probe-batch CTC loss ${r.lossBefore} → ${r.lossAfter}`);
});

test('a run where no label fits makes no update and no NaN', async () => {
  const model = seqModel(3);
  const r = await trainCtc({ model, data: data(4, [undefined, [1, 1, 1, 1]]), blank: 0, steps: 3, lr: 1e-2, batchSize: 2 });
  assert.equal(r.skipped, 3);
  assert.ok(Number.isNaN(r.lossBefore) && Number.isNaN(r.lossAfter));
  for (const name of ['w1', 'w2'])
    assert.deepEqual(Array.from(r.model.graph.initializers.get(name)!.toFloat32()), Array.from(model.graph.initializers.get(name)!.toFloat32()));
});

test('a model without frames, or a blank outside the classes, is refused', async () => {
  const flat: CtcData = { x: randn(4 * 4, 1, normal(rng(1))), sampleShape: [4], labels: [Int32Array.of(1), Int32Array.of(2), undefined, undefined] };
  await assert.rejects(openCtcLoop(seqModel(1, false), flat, { blank: 0 }), /frame logits \[N, T, C\]/);
  await assert.rejects(openCtcLoop(seqModel(1), data(2, [[1]]), { blank: C }), /blank/);
});

test('a CTC run stopped by its signal resumes from its checkpoint and ends with the weights of an uninterrupted run', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-ctc-resume-'));
  try {
    const d = data(12, [[1, 2], [3], [4, 4]]);
    const common = { data: d, blank: 0, steps: 30, lr: 3e-2, batchSize: 4, seed: 3 };
    const whole = await trainCtc({ ...common, model: seqModel(4) });
    const stop = new AbortController();
    const first = await trainCtc({
      ...common,
      model: seqModel(4),
      checkpointDir: dir,
      checkpointSteps: 5,
      signal: stop.signal,
      onStep: (s) => s.step === 13 && stop.abort(),
    });
    assert.equal(first.stopped, 'signal');
    assert.equal(first.steps, 13);
    const second = await trainCtc({ ...common, model: seqModel(4), checkpointDir: dir, checkpointSteps: 5 });
    assert.equal(second.resumedFromStep, 13);
    assert.equal(second.steps, 30);
    assert.equal(second.stopped, undefined);
    assert.equal(second.lossBefore, whole.lossBefore);
    for (const name of ['w1', 'w2'])
      assert.deepEqual(Array.from(second.model.graph.initializers.get(name)!.toFloat32()), Array.from(whole.model.graph.initializers.get(name)!.toFloat32()));
    // another run's checkpoint (other settings) is not resumed
    const other = await trainCtc({ ...common, lr: 1e-2, model: seqModel(4), checkpointDir: dir });
    assert.equal(other.resumedFromStep, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
