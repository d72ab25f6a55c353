// LoRA against full fine-tuning on a backbone of wide MatMuls (issue 12): an MLP 784-4096-4096-4096-10
// (37 M weights, 147 MB), trained one epoch on 3,000 MNIST digits as the "pretrained" model, then
// fine-tuned on the same digits with rank-8 adapters or with every weight, each in its own child process
// so that each peak RSS is its own. The RSS is sampled every 50 ms and split by phase: the head phase
// (features of the frozen backbone at the candidate cuts, a linear head on them) and the training phase
// (adapters or all weights through the whole graph), whose memory is the one LoRA can change.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { peakRss } from '../../src/bench/machine.js';
import { createSession } from '../../src/runtime/session.js';
import { readModel } from '../../src/onnx/read-model.js';
import { writeModel } from '../../src/onnx/write-model.js';
import { mnistSplits } from '../../src/train/dataset.js';
import { finetune } from '../../src/train/finetune.js';
import { trainModel } from '../../src/train/loop.js';
import { buildMlp } from '../../src/train/models.js';
import { runKinds } from './run-kinds.js';

export const WIDE = [784, 4096, 4096, 4096, 10];
const LIMIT = 3000;

const pretrained = (dir: string): string => join(dir, 'wide.onnx');

/** The child: one fine-tuning run, its figures as one JSON line on stdout. */
export async function loraWideChild(kind: 'lora' | 'full', dir: string): Promise<void> {
  const splits = mnistSplits({ limit: LIMIT });
  let phase: 'head' | 'train' = 'head';
  const peak = { head: 0, train: 0 };
  const timer = setInterval(() => {
    peak[phase] = Math.max(peak[phase], process.memoryUsage().rss);
  }, 50);
  const t0 = performance.now();
  const r = await finetune({
    model: readModel(pretrained(dir)),
    train: splits.train,
    val: splits.val,
    epochs: 5,
    batchSize: 32,
    seed: 0,
    ...(kind === 'lora' ? { lora: { rank: 8 } } : { unfreeze: 'all' }),
    unfreezeEpochs: 1,
    onHead: () => {
      phase = 'train';
    },
  });
  clearInterval(timer);
  const s = await createSession(r.model);
  const { evaluateArrays } = await import('../../src/train/loop.js');
  const ev = await evaluateArrays(s, s.inputNames[0]!, s.outputNames[0]!, splits.test);
  await s.release();
  const phaseRun = r.unfrozen!;
  const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  console.log(
    JSON.stringify({
      kind,
      trainableParameters: phaseRun.trained.reduce((a, t) => a + t.size, 0),
      lora: r.lora,
      secondsPerEpoch: phaseRun.history.reduce((a, h) => a + h.seconds, 0) / phaseRun.history.length,
      peakRssMiB: mib(peakRss()),
      rssMiBByPhase: { head: mib(peak.head), train: mib(peak.train) },
      valAccuracyAfterPhase: phaseRun.history.at(-1)?.valAccuracy,
      kept: r.unfrozenKept,
      testAccuracy: ev.accuracy,
      wallSeconds: (performance.now() - t0) / 1000,
    }),
  );
}

/** The parent: the pretrained wide MLP (made once), then each kind in its own process. */
export async function loraWide(script: string, root: string): Promise<unknown> {
  const dir = join(root, 'tmp', 'lora-wide');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(pretrained(dir))) {
    const splits = mnistSplits({ limit: LIMIT });
    const r = await trainModel({ model: buildMlp(WIDE, 0), train: splits.train, val: splits.val, epochs: 1, batchSize: 64, seed: 0 });
    writeModel(r.model, pretrained(dir));
  }
  const out: Record<string, unknown> = { model: `mlp:${WIDE.join('-')}, one epoch on ${LIMIT} MNIST digits`, unfreezeEpochs: 1 };
  return runKinds(script, root, 'wide', { COMPRESS_WIDE_DIR: dir }, out);
}
