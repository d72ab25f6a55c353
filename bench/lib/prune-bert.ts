// The BERT-style encoder section of bench/prune.ts: the zoo encoder reading bert-base-uncased WordPiece
// ids (the real 30,522-token vocabulary, through a Hugging Face tokenizer.json), trained on the `notes`
// text task; half its attention heads and FFN neurons removed by prune-structured, recovered by
// distillation plus the task loss; the architecture of the pruned model trained alone as the baseline;
// accuracy with 95% intervals on the held-out split and batch-1 latency timed interleaved in one process.
// Then whole layers: prune-layers removes the two sublayers of least block influence, recovered the same
// way, beside a one-layer encoder trained alone.

import type * as ort from 'onnxruntime-node';
import { loadTask, type Task } from '../../src/data/task.js';
import { evaluate } from '../../src/eval/evaluate.js';
import type { Model } from '../../src/onnx/model.js';
import { inspectModel } from '../../src/onnx/inspect-model.js';
import { pruneStructured } from '../../src/passes/prune-structured.js';
import { pruneLayers } from '../../src/passes/prune-layers.js';
import type { Feeds } from '../../src/passes/pass.js';
import { timeInterleaved, timingFeeds } from '../../src/cli/prune-pipeline.js';
import { createSession } from '../../src/runtime/session.js';
import { taskDataset } from '../../src/train/dataset.js';
import { floatIdView, idModel } from '../../src/train/id-input-view.js';
import { trainModel } from '../../src/train/loop.js';
import { recover } from '../../src/train/recover.js';
import { bertEncoder, type BertOptions } from '../../src/zoo/bert-encoder.js';

const ARCH = { layers: 2, hidden: 128, heads: 4, seq: 32, intermediate: 512, classes: 5, vocab: 30522 } satisfies BertOptions;

async function accuracy(m: Model, test: Task) {
  const s = await createSession(m);
  try {
    const r = await evaluate(s, test, { batchSize: 32 });
    return { value: r.primary.value, ci: r.primary.ci, n: r.n };
  } finally {
    await s.release();
  }
}

/** Trains the token-id model through its float-fed view; the result reads int64 ids again. */
async function trained(m: Model, data: { train: Awaited<ReturnType<typeof taskDataset>>; val: Awaited<ReturnType<typeof taskDataset>> }, epochs: number) {
  const r = await trainModel({
    model: floatIdView(m),
    train: data.train,
    val: data.val,
    epochs,
    batchSize: 32,
    optimizer: { kind: 'adamw', lr: 1e-3 },
    seed: 1,
  });
  return { model: idModel(r.model), history: r.history.map((h) => ({ epoch: h.epoch, trainLoss: h.trainLoss, valAccuracy: h.valAccuracy })) };
}

export async function bertTextSection(quick: boolean): Promise<Record<string, unknown>> {
  const n = quick ? 600 : 4000;
  const task = await loadTask('notes', { seed: 1, limit: n });
  const data = { train: await taskDataset(task, 'train'), val: await taskDataset(task, 'val') };
  const test = await loadTask('notes', { seed: 1, limit: n, split: 'test' });
  const epochs = quick ? 1 : 6;
  console.log(`bert: training the encoder on notes (${data.train.labels.length} train items, ${epochs} epochs)…`);
  const teacher = await trained(bertEncoder(ARCH), data, epochs);
  const pruned = await pruneStructured(teacher.model, { ratio: 0.5, multiple: 8 });
  console.log('bert: recovering the pruned encoder (distillation + task loss)…');
  const r = await recover({
    student: floatIdView(pruned.model),
    teacher: floatIdView(teacher.model),
    data: { x: data.train.x, sampleShape: data.train.sampleShape, labels: data.train.labels },
    epochs: quick ? 1 : 3,
    lr: 1e-3,
  });
  const recovered = idModel(r.model);
  console.log('bert: the pruned architecture trained alone…');
  const alone = await trained(bertEncoder({ ...ARCH, heads: 2, intermediate: 256 }), data, epochs);
  const layers = await droppedLayers(teacher.model, data, quick);
  const feeds: Record<string, ort.Tensor> = await timingFeeds(test, teacher.model);
  const tl = await timeInterleaved(teacher.model, layers.model, feeds, { rounds: 10, iterations: 50 });
  const t = await timeInterleaved(teacher.model, recovered, feeds, { rounds: 10, iterations: 50 });
  const [i0, i1] = [inspectModel(teacher.model), inspectModel(recovered)];
  return {
    model: `zoo bertEncoder ${JSON.stringify(ARCH)}, input_ids through the bert-base-uncased tokenizer.json (builtin:bert-base-uncased)`,
    task: `notes (${n} items: ${data.train.labels.length} train, ${data.val.labels.length} val, ${test.size} test)`,
    ratio: 0.5,
    stats: pruned.record.stats,
    groups: pruned.groups.map((g) => `${g.sources.join('+')}: ${g.channels}→${g.kept}`),
    params: { input: i0.parameters.count, output: i1.parameters.count },
    timingInputTokens: feeds.input_ids?.dims,
    latencyMs: { input: t.a, output: t.b },
    speedup: { p50: t.a.p50 / t.b.p50, p99: t.a.p99 / t.b.p99 },
    accuracy: {
      unpruned: await accuracy(teacher.model, test),
      prunedBeforeRecovery: await accuracy(pruned.model, test),
      prunedRecovered: await accuracy(recovered, test),
      sameArchTrainedAlone: await accuracy(alone.model, test),
    },
    wholeLayers: {
      dropped: layers.notes,
      latencyMs: { input: tl.a, output: tl.b },
      speedup: { p50: tl.a.p50 / tl.b.p50, p99: tl.a.p99 / tl.b.p99 },
      accuracy: {
        beforeRecovery: await accuracy(layers.pruned, test),
        recovered: await accuracy(layers.model, test),
        oneLayerTrainedAlone: await accuracy(layers.alone, test),
      },
    },
    training: { unpruned: teacher.history, alone: alone.history },
    recoveryLoss: r.history.map((h) => h.loss),
  };
}

/** prune-layers: the two sublayers (of four) of least block influence removed, then recovered; a 1-layer encoder trained alone beside it. */
async function droppedLayers(
  teacher: Model,
  data: { train: Awaited<ReturnType<typeof taskDataset>>; val: Awaited<ReturnType<typeof taskDataset>> },
  quick: boolean,
) {
  const n = Math.min(64, data.train.labels.length);
  const rows = data.train.x.subarray(0, n * 32);
  const calibration = async function* (): AsyncIterable<Feeds> {
    yield { input_ids: { type: 'int64', data: BigInt64Array.from(rows, (v) => BigInt(v)), dims: [n, 32] } };
  };
  const pruned = await pruneLayers(teacher, { count: 2 }, { calibration });
  console.log(`bert: ${pruned.record.notes.join('; ')}; recovering…`);
  const r = await recover({
    student: floatIdView(pruned.model),
    teacher: floatIdView(teacher),
    data: { x: data.train.x, sampleShape: data.train.sampleShape, labels: data.train.labels },
    epochs: quick ? 1 : 3,
    lr: 1e-3,
  });
  const alone = await trained(bertEncoder({ ...ARCH, layers: 1 }), data, quick ? 1 : 6);
  return { pruned: pruned.model, model: idModel(r.model), alone: alone.model, notes: pruned.record.notes };
}
