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

test('batch sizes stop at --max-batch; a size that only ties one request, or has no times, is not kept', async () => {
  const measured = (perBatch: Record<number, number[]>) => {
    const asked: number[] = [];
    const pool = {
      warmUp: async (_runs: number, feeds: Record<string, FeedOptions>) => {
        const k = feeds.m!.batch!;
        asked.push(k);
        return { m: perBatch[k] ?? [] };
      },
    };
    return { asked, pool };
  };
  // every size helps (5 ms per request against 10): only 2 and 3 are measured under a max of 3
  const all = measured({ 2: [10], 3: [15], 4: [20], 5: [25] });
  const got = await measureBatches(all.pool, { single: { m: new ServiceTime([10]) }, io: { m: io('batch') }, shapes: { x: [1, 8] }, maxBatch: 3, runs: 1 });
  assert.deepEqual([...got.m!.keys()], [2, 3]);
  assert.deepEqual(all.asked, [2, 3]);
  // a batch of 2 at exactly two single requests' time gains nothing: not kept
  const tie = measured({ 2: [20] });
  assert.deepEqual(
    await measureBatches(tie.pool, { single: { m: new ServiceTime([10]) }, io: { m: io('batch') }, shapes: { x: [1, 8] }, maxBatch: 4, runs: 1 }),
    {},
  );
  // no times came back for the size: not kept, and larger sizes are not tried
  const none = measured({});
  assert.deepEqual(
    await measureBatches(none.pool, { single: { m: new ServiceTime([10]) }, io: { m: io('batch') }, shapes: { x: [1, 8] }, maxBatch: 4, runs: 1 }),
    {},
  );
  assert.deepEqual(none.asked, [2]);
});
