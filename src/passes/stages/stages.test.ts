import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../onnx/builder.js';
import { Tensor } from '../../onnx/tensor.js';
import { DataType } from '../../onnx/dtype.js';
import { EdgefitError } from '../../onnx/errors.js';
import * as ort from 'onnxruntime-node';
import { createSession } from '../../runtime/session.js';
import { ctcTargets } from '../../train/ctc.js';
import type { Model } from '../../onnx/model.js';
import { buildMlp } from '../../train/models.js';
import { trainStage } from '../../train/stage-train.js';
import { randn, normal, rng } from '../../zoo/rng.js';
import type { Feeds, PassContext, StageData } from '../pass.js';
import { validateParams } from '../params.js';
import { findPass } from '../registry.js';
import { quantizeStatic } from '../quantize-static.js';
import { refuseDiverged, trainRecord } from './stage-run.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-stages-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const data = (n: number, seed = 5): StageData => ({ x: randn(n * 12, 1, normal(rng(seed))), sampleShape: [12] });
const teacher = () => buildMlp([12, 16, 4], 1);
const student = () => buildMlp([12, 16, 4], 2);
const weights = (m: Model) => [...m.graph.initializers.values()].map((t) => Array.from(t.toFloat32()));

async function runStage(name: string, model: Model, params: Record<string, unknown>, ctx: PassContext) {
  const p = findPass(name)!;
  return p.run(model, validateParams(name, p.params, params as never), ctx);
}

test('recover is a registered training stage whose steps are searched', () => {
  const p = findPass('recover')!;
  assert.equal(p.role, 'train');
  assert.deepEqual(p.params.steps!.search?.values, [60, 200]);
  assert.equal(findPass('qat')?.role, 'train');
});

test('recover distils the model towards the teacher and records steps, losses and wall time', async () => {
  const r = await runStage('recover', student(), { steps: 40, lr: 1e-2 }, { teacher: teacher(), trainData: data(64) });
  const s = r.record.stats;
  assert.equal(s.steps, 40);
  assert.equal(s.resumedFromStep, 0);
  assert.equal(s.complete, true);
  assert.ok(Number(s.lossAfter) < Number(s.lossBefore) / 2, `loss ${s.lossBefore} → ${s.lossAfter}`);
  assert.ok(Number(s.wallMs) >= 0);
});

test('a training stage without a teacher or without data is a typed error that says what to give', async () => {
  await assert.rejects(runStage('recover', student(), {}, { trainData: data(8) }), (e) => e instanceof EdgefitError && e.code === 'E_STAGE_NO_TEACHER');
  await assert.rejects(runStage('recover', student(), {}, { teacher: teacher() }), (e) => e instanceof EdgefitError && e.code === 'E_STAGE_NO_DATA');
});

test('qat refuses a model that is not static-int8 QDQ, with a typed error', async () => {
  await assert.rejects(
    runStage('qat', student(), {}, { teacher: teacher(), trainData: data(8) }),
    (e) => e instanceof EdgefitError && e.code === 'E_QAT_NEEDS_QDQ' && /quantize-static/.test(e.hint ?? ''),
  );
});

test('qat trains a static-int8 QDQ model and returns the QDQ graph with new codes', async () => {
  const fp32 = teacher();
  const d = data(64);
  const calibration = (): AsyncIterable<Feeds> =>
    (async function* () {
      yield { x: { type: 'float32', dims: [64, 12], data: d.x } };
    })();
  const qdq = (await quantizeStatic(fp32, { scope: 'all' }, { calibration })).model;
  const r = await runStage('qat', qdq, { steps: 30, lr: 0.05 }, { teacher: fp32, trainData: d });
  assert.equal(r.record.stats.steps, 30);
  assert.ok(Number(r.record.stats.lossAfter) <= Number(r.record.stats.lossBefore), `loss ${r.record.stats.lossBefore} → ${r.record.stats.lossAfter}`);
  assert.equal(r.model.graph.nodes.length, qdq.graph.nodes.length, 'the same QDQ graph');
  assert.notDeepEqual(weights(r.model), weights(qdq), 'some int8 codes moved');
});

test('a stage stops at a step boundary when its signal aborts or its deadline passes, and says so', async () => {
  const ac = new AbortController();
  const r = await trainStage({
    student: student(),
    teacher: teacher(),
    data: data(32),
    steps: 50,
    lr: 1e-2,
    signal: ac.signal,
    onStep: (k) => k === 3 && ac.abort(),
  });
  assert.equal(r.steps, 3);
  assert.equal(r.stopped, 'signal');
  const late = await runStage('recover', student(), { steps: 50 }, { teacher: teacher(), trainData: data(32), deadline: Date.now() - 1 });
  assert.equal(late.record.stats.steps, 0);
  assert.equal(late.record.stats.stopped, 'deadline');
  assert.match(late.record.notes.join(' '), /stopped at step 0 of 50/);
});

test('resumed from its checkpoint, a stage ends with the weights of an uninterrupted run', async () => {
  const opts = { teacher: teacher(), data: data(40), steps: 12, lr: 1e-2, batchSize: 8, seed: 3, checkpointSteps: 2 };
  const whole = await trainStage({ ...opts, student: student() });
  const ck = join(dir, 'resume.ckpt');
  const ac = new AbortController();
  const first = await trainStage({ ...opts, student: student(), checkpointDir: ck, signal: ac.signal, onStep: (k) => k === 5 && ac.abort() });
  assert.equal(first.steps, 5);
  const second = await trainStage({ ...opts, student: student(), checkpointDir: ck });
  assert.equal(second.resumedFromStep, 5);
  assert.equal(second.steps, 12);
  assert.deepEqual(weights(second.model), weights(whole.model));
  // another run's checkpoint (other lr) is not resumed
  const other = await trainStage({ ...opts, lr: 2e-2, student: student(), checkpointDir: ck });
  assert.equal(other.resumedFromStep, 0);
});

test('finetune learns the labels (cross-entropy only) and refuses unlabelled samples', async () => {
  const d = data(64);
  const labels = Int32Array.from({ length: 64 }, (_, i) => (d.x[i * 12]! > 0 ? 1 : 0));
  const r = await runStage('finetune', student(), { steps: 60, lr: 1e-2 }, { trainData: { ...d, labels } });
  assert.ok(Number(r.record.stats.lossAfter) < Number(r.record.stats.lossBefore), `loss ${r.record.stats.lossBefore} → ${r.record.stats.lossAfter}`);
  await assert.rejects(runStage('finetune', student(), {}, { trainData: d }), (e) => e instanceof EdgefitError && e.code === 'E_STAGE_NO_LABELS');
});

/** x [B, 5, 3] → MatMul [3, 6] → Tanh → MatMul [6, 4]: frame logits for CTC (blank 0). */
function frameModel(seed: number): Model {
  const g = normal(rng(seed));
  const b = new GraphBuilder();
  const h = b.op('Tanh', [b.op('MatMul', [b.input('x', DataType.FLOAT, ['n', 5, 3]), b.floats('a', [3, 6], randn(18, 0.8, g))])]);
  b.output(b.op('MatMul', [h, b.floats('c', [6, 4], randn(24, 0.8, g))], {}, { outputs: ['frames'] }));
  return b.model();
}

// samples with texts, as an OCR task's are, and the mean CTC loss of a model on them
const texts = [[1, 2], [3], [2, 2], [1, 3, 1]];
const trainData: StageData = {
  x: randn(16 * 15, 1, normal(rng(8))),
  sampleShape: [5, 3],
  sequences: Array.from({ length: 16 }, (_, i) => Int32Array.from(texts[i % 4]!)),
  blank: 0,
};
/** The mean CTC loss on the texts of the model's frames, run as it is (float or QDQ). */
const ctcLoss = async (m: Model) => {
  const session = await createSession(m, { threads: 1 });
  const out = (await session.run({ x: new ort.Tensor('float32', trainData.x, [16, 5, 3]) }))[m.graph.outputs[0]!.name]!;
  await session.release();
  return ctcTargets(out.data as Float32Array, out.dims, trainData.sequences!, 0).meanLoss;
};

test('on samples with texts (an OCR task), recover trains with CTC on the texts; kd mixes the teacher in', async () => {
  const start = frameModel(1);
  const teacher = frameModel(2);
  const r = await runStage('recover', start, { steps: 150, lr: 3e-2, batch: 8, kd: 0 }, { teacher, trainData });
  assert.equal(r.record.stats.objective, 'ctc');
  assert.equal(r.record.stats.steps, 150);
  assert.equal(r.record.stats.teacherRuns, 0);
  const [before, after] = [await ctcLoss(start), await ctcLoss(r.model)];
  assert.ok(after < 0.5 * before, `CTC loss on the texts ${before} → ${after}`);
  // the default mixes the teacher (which disagrees with the texts) in: the texts still teach
  const mixed = await runStage('recover', start, { steps: 150, lr: 3e-2, batch: 8 }, { teacher, trainData });
  assert.equal(mixed.record.stats.objective, 'ctc+kd');
  assert.ok(Number(mixed.record.stats.teacherRuns) > 0);
  const m = await ctcLoss(mixed.model);
  assert.ok(m < 0.8 * before && m > after, `CTC loss on the texts ${before} → ${m} mixed, ${after} alone`);
});

test('on samples with texts, qat trains with CTC mixed with the teacher and exports the same QDQ graph', async () => {
  const fp32 = frameModel(1);
  const calibration = (): AsyncIterable<Feeds> =>
    (async function* () {
      yield { x: { type: 'float32', dims: [16, 5, 3], data: trainData.x } };
    })();
  const qdq = (await quantizeStatic(fp32, { scope: 'all' }, { calibration })).model;
  const r = await runStage('qat', qdq, { steps: 60, lr: 0.1, batch: 8 }, { teacher: fp32, trainData });
  assert.equal(r.record.stats.objective, 'ctc+kd');
  assert.equal(r.model.graph.nodes.length, qdq.graph.nodes.length, 'the same QDQ graph');
  assert.notDeepEqual(weights(r.model), weights(qdq), 'some int8 codes moved');
  const [before, after] = [await ctcLoss(qdq), await ctcLoss(r.model)];
  assert.ok(after < before, `CTC loss of the exported QDQ model ${before} → ${after}`);
});

test('a training stage whose probe loss ended far above where it began fails with a clear error; an ordinary run passes', () => {
  const ok = { steps: 60, lossBefore: 1.8, lossAfter: 0.9 };
  assert.doesNotThrow(() => refuseDiverged('qat', ok, 0.05));
  // noise above the start is tolerated up to twice it plus 1
  assert.doesNotThrow(() => refuseDiverged('qat', { ...ok, lossAfter: 4.6 }, 0.05));
  for (const lossAfter of [4.7, 40.8, Number.NaN, Number.POSITIVE_INFINITY])
    assert.throws(
      () => refuseDiverged('qat', { ...ok, lossAfter }, 0.05),
      (e: EdgefitError) =>
        e.code === 'E_TRAIN_DIVERGED' &&
        /training stage qat diverged: its loss on the probe batch went from 1\.800 to/.test(e.message) &&
        /0\.05/.test(e.hint ?? ''),
    );
  // every stage's record goes through it
  assert.throws(
    () => trainRecord('recover', { steps: 60, lr: 0.001 }, 60, { ...ok, lossAfter: 40.8, resumedFromStep: 0, wallMs: 1, teacherRuns: 0 } as never, 256),
    /recover diverged/,
  );
});

test('qat trains through a head narrowed by prune-classes (its ScatterElements back to the full width)', async () => {
  // a 4-class MLP whose bias makes classes 0 and 1 the only ones used: prune-classes keeps those two
  const fp32 = buildMlp([12, 16, 4], 1);
  const head = [...fp32.graph.initializers.values()].find((t) => t.dims.length === 1 && t.dims[0] === 4)!;
  fp32.graph.initializers.set(head.name, Tensor.fromFloat32(head.name, [4], Float32Array.of(8, 8, -8, -8)));
  const sm = new GraphBuilder(fp32.graph);
  const out = fp32.graph.outputs[0]!;
  const probs = sm.op('Softmax', [out.name], { axis: -1 });
  fp32.graph.outputs[0] = { ...out, name: probs };
  const d = data(64);
  const calibration = (): AsyncIterable<Feeds> =>
    (async function* () {
      yield { x: { type: 'float32', dims: [64, 12], data: d.x } };
    })();
  const narrowed = await runStage('prune-classes', fp32.clone(), { maxUnseen: 1 }, { calibration });
  assert.equal(narrowed.record.stats.classesKept, 2, String(narrowed.record.notes));
  const qdq = (await quantizeStatic(narrowed.model, { scope: 'all' }, { calibration })).model;
  const r = await runStage('qat', qdq, { steps: 20, lr: 0.05 }, { teacher: fp32, trainData: d });
  assert.equal(r.record.stats.steps, 20);
  assert.ok(Number(r.record.stats.lossAfter) <= Number(r.record.stats.lossBefore), `loss ${r.record.stats.lossBefore} → ${r.record.stats.lossAfter}`);
  assert.ok(
    r.model.graph.nodes.some((n) => n.opType === 'ScatterElements'),
    'the exported model keeps the narrowed head',
  );
  // it trains on the logits (the full-width view), not on the output's probabilities taken as logits:
  // it starts about as close to the teacher as the same QAT of the whole head does
  const whole = await runStage(
    'qat',
    (await quantizeStatic(fp32, { scope: 'all' }, { calibration })).model,
    { steps: 1, lr: 0.05 },
    { teacher: fp32, trainData: d },
  );
  const [a, b] = [Number(r.record.stats.lossBefore), Number(whole.record.stats.lossBefore)];
  assert.ok(a < 2 * b + 0.05, `narrowed ${a} against whole ${b}`);
});
