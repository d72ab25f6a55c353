import { test } from 'node:test';
import assert from 'node:assert/strict';
import { measureBatches } from './batch-measure.js';
import { ServiceTime } from './service-time.js';
import type { FeedOptions } from '../runtime/inputs.js';

const io = (d0: number | string) => ({ inputs: [{ name: 'x', type: 'float32', shape: [d0, 8] }], outputs: [{ name: 'y', type: 'float32', shape: [d0, 2] }] });

test('a batch size is kept only when its measured time per request beats one request', async () => {
  // a batch of k takes perBatch[k] ms; one request takes 10 ms
  const perBatch: Record<number, number> = { 2: 15, 3: 33, 4: 20 };
  const asked: Record<string, FeedOptions>[] = [];
  const pool = {
    warmUp: async (_runs: number, feeds: Record<string, FeedOptions>, remember?: boolean) => {
      assert.equal(remember, false, 'batch shapes are not what a respawned worker warms up with');
      asked.push(feeds);
      const k = feeds.m!.batch!;
      return { m: [perBatch[k]!, perBatch[k]!] };
    },
  };
  const got = await measureBatches(pool, { single: { m: new ServiceTime([10]) }, io: { m: io('batch') }, shapes: { x: [1, 8] }, maxBatch: 4, runs: 2 });
  // 3 (11 ms each) is worse than one at a time (10 ms): the sizes stop there, 4 is not even tried
  assert.deepEqual([...got.m!.keys()], [2]);
  assert.equal(got.m!.get(2)!.mean(), 15);
  assert.deepEqual(
    asked.map((f) => f.m!.shapes!.x),
    [
      [2, 8],
      [3, 8],
    ],
  );
  // a fixed batch dim: nothing measured, nothing kept
  const fixed = await measureBatches(pool, { single: { m: new ServiceTime([10]) }, io: { m: io(1) }, shapes: { x: [1, 8] }, maxBatch: 4, runs: 2 });
  assert.deepEqual(fixed, {});
});
