import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { byPromise, screenedTails, type Queued } from './extend.js';
import { PASSES } from '../../passes/registry.js';
import { depthFor } from '../schedule/depth.js';
import type { ChainPlan } from '../schedule/chains.js';
import type { CandidateConfig } from '../types.js';

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

test('the screened tails read each registered pass’s keep-float parameter: quantize-static lists count once', () => {
  const plan: ChainPlan = {
    quantizers: [{ name: 'quantize-static', params: {} }],
    qdq: ['quantize-static'],
    depth: depthFor(3_600_000),
    margin: 0.1,
  };
  const tail = (label: string, keepFloat: string[], scope = 'compute'): CandidateConfig => ({
    label,
    passes: [
      { name: 'clean-fp32', params: {} },
      { name: 'quantize-static', params: { scope, quantizeDepthwise: true, keepFloat } },
    ],
    session: { graphOptimizationLevel: 'all', disabledOptimizers: [] },
  });
  const fastest = [tail('chains keep 1', ['a']), tail('chains keep 2', ['a', 'b']), tail('chains', []), tail('all keep 1', ['a'], 'all')];
  assert.deepEqual(
    screenedTails(PASSES, fastest, plan).map((t) => t.label),
    ['chains keep 1', 'all keep 1'],
  );
  // the same chains without the registry's declaration: each keep-float list is a tail of its own
  assert.deepEqual(
    screenedTails(undefined, fastest, plan).map((t) => t.label),
    ['chains keep 1', 'chains keep 2'],
  );
});
