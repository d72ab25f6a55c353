// LoRA against full CTC fine-tuning of PaddleOCR rec on serials (issue 12), each through the CLI
// (`edgefit finetune <rec> --task serials --loss ctc [--lora 8 --save-adapter …]`) in its own child
// process, so that each peak RSS is its own: held-out CER before and after (with and without spaces),
// trainable parameters, seconds per step, RSS while training and at the peak, and the adapter file's
// size against the base's. Same steps, batch, items, seed and learning rate for both.

import { mkdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { peakRss } from '../../src/bench/machine.js';
import { captureOutput } from '../../src/cli/test-cli.js';
import { main } from '../../src/cli/main.js';
import { runKinds } from './run-kinds.js';

const STEPS = Number(process.env.COMPRESS_CTC_STEPS ?? 40);
const LR = process.env.COMPRESS_CTC_LR ?? '0.0003';

/** The child: one `edgefit finetune --loss ctc` run in this process, its figures as one JSON line. */
export async function loraRecChild(kind: 'lora' | 'full', rec: string, dir: string): Promise<void> {
  const out = join(dir, `${kind}.onnx`);
  const adapter = join(dir, 'serials.adapter.onnx');
  const argv = ['finetune', rec, '--task', 'serials', '--loss', 'ctc', '--steps', String(STEPS), '-b', '8', '--limit', '200'];
  argv.push('--eval-limit', '200', '--lr', LR, '-o', out, '--json', ...(kind === 'lora' ? ['--lora', '8', '--save-adapter', adapter] : []));
  let trainPeak = 0;
  const timer = setInterval(() => {
    trainPeak = Math.max(trainPeak, process.memoryUsage().rss);
  }, 50);
  const [stdout, stderr] = [captureOutput(), captureOutput()];
  const code = await main(argv, { stdout, stderr });
  clearInterval(timer);
  if (code !== 0) throw new Error(stderr.text);
  const j = JSON.parse(stdout.text);
  const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  console.log(
    JSON.stringify({
      kind,
      command: `edgefit ${argv.map((a) => (a.startsWith('/') ? relative(process.cwd(), a) : a)).join(' ')}`,
      lora: j.lora,
      cer: { before: j.heldOut.before, after: j.heldOut.after },
      steps: j.steps,
      secondsPerStep: j.wallSeconds / j.steps,
      peakRssMiB: mib(peakRss()),
      sampledRssMiB: mib(trainPeak),
      ...(kind === 'lora' ? { adapterKiB: Math.round(statSync(adapter).size / 1024), baseKiB: Math.round(statSync(rec).size / 1024) } : {}),
    }),
  );
}

/** The parent: each kind in its own process. */
export function loraRec(script: string, root: string, rec: string): unknown {
  const dir = join(root, 'tmp', 'lora-rec');
  mkdirSync(dir, { recursive: true });
  const out: Record<string, unknown> = { model: relative(root, rec), steps: STEPS, batch: 8, trainItems: 200, heldOutItems: 200, lr: Number(LR) };
  return runKinds(script, root, 'rec', { COMPRESS_REC_LORA_DIR: dir }, out);
}
