import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { byPromise, type Queued } from './extend.js';

const q = (id: string, trainMs: number, potential: number, kind: Queued['kind'] = trainMs ? 'recover' : 'quantize'): Queued => ({
  id,
  kind,
  trainMs,
  potential,
});

test('a round screens extensions without training first, then training by the latency its chain could reach, then by cost', () => {
  const queue = [
    q('qat of an int8 chain at 5.7 ms', 420_000, 5.7, 'qat'),
    q('longer recovery of a pruned chain that quantizes to 2.9 ms', 720_000, 2.9),
    q('quantize (slow chain)', 0, 9),
    q('qat, same reach, cheaper', 300_000, 5.7, 'qat'),
    q('quantize (fast chain)', 0, 3),
  ].sort(byPromise);
  assert.deepEqual(
    queue.map((x) => x.id),
    [
      'quantize (fast chain)',
      'quantize (slow chain)',
      'longer recovery of a pruned chain that quantizes to 2.9 ms',
      'qat, same reach, cheaper',
      'qat of an int8 chain at 5.7 ms',
    ],
  );
});
