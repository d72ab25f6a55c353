// The teacher term of CTC training: the graph's gradient is that of (1 − α)·CTC + α·KL(teacher ‖ student)
// per frame (finite differences of that objective computed in TypeScript), a sample whose text does not
// fit learns from the teacher alone, the cache spares teacher runs without changing a weight, and a
// teacher with other frames is refused.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { ctcAlign } from './ctc.js';
import { ctcBatchTargets, ctcGradients, openCtcLoop, trainCtc, type CtcLoop } from './ctc-train.js';
import { mixTeacher, openCtcTeacher } from './ctc-teacher.js';
import { seqData, seqModel, T } from './test-seq-model.js';

const C = 5;

function logSoftmax(z: ArrayLike<number>, at: number): Float64Array {
  let m = -Infinity;
  for (let k = 0; k < C; k++) m = Math.max(m, z[at + k]!);
  let s = 0;
  for (let k = 0; k < C; k++) s += Math.exp(z[at + k]! - m);
  return Float64Array.from({ length: C }, (_, k) => z[at + k]! - m - Math.log(s));
}

/** (1/N)·Σ_i [(1 − a_i)·CTC_i + a_i·Σ_t KL(p ‖ q)], a_i = α where the label fits, else 1: the objective, in TypeScript. */
async function objective(L: CtcLoop, x: ort.Tensor, params: Float32Array[], labels: (Int32Array | undefined)[], p: Float32Array, alpha: number) {
  const feeds = Object.fromEntries(L.tg.params.map((q, j) => [q.name, new ort.Tensor('float32', params[j]!, q.dims)]));
  const z = (await L.forward.run({ [L.input]: x, ...feeds }))[L.logits]!.data as Float32Array;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const logq = new Float64Array(T * C);
    for (let t = 0; t < T; t++) logq.set(logSoftmax(z, (i * T + t) * C), t * C);
    let kl = 0;
    for (let r = 0; r < T * C; r++) {
      const pr = p[i * T * C + r]!;
      if (pr > 0) kl += pr * (Math.log(pr) - logq[r]!);
    }
    const ctc = labels[i] ? ctcAlign(logq, T, C, labels[i]!, 0) : undefined;
    sum += ctc?.feasible ? (1 - alpha) * ctc.loss + alpha * kl : kl;
  }
  return sum / labels.length;
}

test('mixed targets give the gradient of (1 − α)·CTC + α·KL to the teacher, finite differences; an unfit sample learns from the teacher', async () => {
  const model = seqModel(1);
  // sample 2 has no label, sample 3's needs 7 frames of the 6: both train on the teacher alone
  const d = seqData(4, [[1, 2], [3, 3], undefined, [4, 4, 4, 4]]);
  const L = await openCtcLoop(model, d, { blank: 0 });
  const teacher = await openCtcTeacher(seqModel(7), d, { frames: T, classes: C });
  const params = L.tg.params.map((p) => Float32Array.from(model.graph.initializers.get(p.name)!.toFloat32()));
  const idx = [0, 1, 2, 3];
  const alpha = 0.3;
  const p = await teacher.probs(idx);
  const { x, targets } = await ctcBatchTargets(L, d, idx, params);
  const grads = await ctcGradients(L, x, mixTeacher(targets, p, alpha), params);
  const labels = idx.map((i) => d.labels[i]);
  const h = 1e-2;
  let checked = 0;
  for (const [k, q] of L.tg.params.entries())
    for (let i = 0; i < params[k]!.length; i += 3) {
      const at = async (s: number) => {
        const ps = params.map((v) => v.slice());
        ps[k]![i]! += s;
        return objective(L, x, ps, labels, p, alpha);
      };
      const fd = ((await at(h)) - (await at(-h))) / (2 * h);
      assert.ok(Math.abs(fd - grads[k]![i]!) < 2e-3 + 2e-2 * Math.abs(fd), `${q.name}[${i}]: finite differences ${fd}, graph ${grads[k]![i]}`);
      checked++;
    }
  assert.ok(checked > 20);
  await Promise.all([L.train.release(), L.forward.release(), teacher.release()]);
});

test('the teacher cache spares teacher runs and changes no weight', async () => {
  const d = seqData(8, [[1, 2], [3], [4, 4], [2, 1, 3]]);
  const common = { data: d, blank: 0, steps: 6, lr: 3e-2, batchSize: 4, seed: 2, teacher: seqModel(7), kdAlpha: 0.5 };
  const cached = await trainCtc({ ...common, model: seqModel(2) });
  const fresh = await trainCtc({ ...common, model: seqModel(2), cacheTeacher: false });
  // the first epoch's two batches computed all 8 samples; later steps read the cache
  assert.equal(cached.teacherRuns, 2);
  assert.equal(fresh.teacherRuns, 6);
  for (const name of ['w1', 'w2'])
    assert.deepEqual(Array.from(cached.model.graph.initializers.get(name)!.toFloat32()), Array.from(fresh.model.graph.initializers.get(name)!.toFloat32()));
});

test('the teacher term pulls the student to the teacher where CTC alone does not', async () => {
  // no label fits (each needs 7 frames of 6): CTC alone cannot train; with a teacher every sample does
  const d = seqData(8, [[1, 1, 1, 1]]);
  const teacherModel = seqModel(7);
  const teacher = await openCtcTeacher(teacherModel, d, { frames: T, classes: C });
  const p = await teacher.probs([0, 1, 2, 3, 4, 5, 6, 7]);
  await teacher.release();
  const kl = async (m: ReturnType<typeof seqModel>) => {
    const L = await openCtcLoop(m, d, { blank: 0 });
    const params = L.tg.params.map((q) => Float32Array.from(m.graph.initializers.get(q.name)!.toFloat32()));
    const x = new ort.Tensor('float32', d.x, [8, ...d.sampleShape]);
    const v = await objective(L, x, params, Array(8).fill(undefined), p, 1);
    await Promise.all([L.train.release(), L.forward.release()]);
    return v;
  };
  const r = await trainCtc({ model: seqModel(2), data: d, blank: 0, steps: 100, lr: 3e-2, batchSize: 4, teacher: teacherModel });
  assert.equal(r.skipped, 0);
  const before = await kl(seqModel(2));
  const after = await kl(r.model);
  assert.ok(after < 0.3 * before, `KL to the teacher ${before} → ${after}`);
});

test('a teacher whose frames differ from the student’s is refused', async () => {
  const d = seqData(4, [[1, 2]]);
  await assert.rejects(
    trainCtc({ model: seqModel(2), data: d, blank: 0, steps: 1, lr: 1e-2, teacher: seqModel(3, true, 6) }),
    /teacher's 'logits' is \[4, 6, 6\].*must match/,
  );
});

test('top-k teacher frames: the cache holds every sample in fewer bytes, cached or not trains the same weights, and k is wired', async () => {
  const d = seqData(8, [[1, 2], [3], [4, 4], [2, 1, 3]]);
  const common = { data: d, blank: 0, steps: 6, lr: 3e-2, batchSize: 4, seed: 2, teacher: seqModel(7), kdAlpha: 0.5 };
  // 8 samples of 6 frames × 5 classes: 120 bytes each dense, 96 with 2 classes a frame; the cap holds
  // all 8 sparse but 6 dense, so the second pass over the last batch runs the teacher again for 2
  const cap = 8 * 96;
  const open = (topK: number) => openCtcTeacher(seqModel(7), d, { frames: T, classes: C, cacheBytes: cap, topK });
  for (const [topK, runs] of [
    [2, 2],
    [0, 3],
  ] as const) {
    const t = await open(topK);
    for (let step = 0; step < 4; step++) await t.probs([0, 1, 2, 3, 4, 5, 6, 7].slice((step % 2) * 4, (step % 2) * 4 + 4));
    assert.equal(t.runs, runs, `top-${topK}: ${t.runs} teacher runs`);
    if (topK > 0) assert.ok(t.keptMass! > 0 && t.keptMass! < 1, `kept mass ${t.keptMass}`);
    else assert.equal(t.keptMass, undefined);
    await t.release();
  }
  const cached = await trainCtc({ ...common, model: seqModel(2), teacherTopK: 2 });
  const fresh = await trainCtc({ ...common, model: seqModel(2), teacherTopK: 2, cacheTeacher: false });
  const dense = await trainCtc({ ...common, model: seqModel(2), teacherTopK: 0 });
  const w = (r: typeof cached) => Array.from(r.model.graph.initializers.get('w1')!.toFloat32());
  assert.deepEqual(w(cached), w(fresh));
  assert.notDeepEqual(w(cached), w(dense));
  assert.ok(cached.teacherKeptMass! < 1 && dense.teacherKeptMass === undefined);
  await assert.rejects(open(-1), /top-k must be a whole number/);
});
