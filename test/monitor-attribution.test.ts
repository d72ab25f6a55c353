// Attribution on simulated lines: a bad batch that ran on four machines is blamed as the batch and
// none of the machines; a creeping machine is blamed as the machine and none of the batches it ran;
// a fault-free line is blamed for nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simulateLine } from '../src/data/generators/line.js';
import { attribute } from '../src/monitor/attribution.js';
import { cellsOf } from './monitor-helpers.js';

const B = 30 * 60_000;

function run(seed: number, faults: 'bad-batch' | 'creep' | 'none') {
  const { events, truth } = simulateLine({ seed, faults });
  const firstMonitorBucket = Math.ceil((truth.start_ts + 0.25 * (truth.end_ts - truth.start_ts)) / B);
  return { truth, attributions: attribute(cellsOf(events, B), { firstMonitorBucket }) };
}

for (const seed of [1, 2, 3]) {
  test(`seed ${seed}: a bad batch is blamed as the batch, not as the machines it ran on`, () => {
    const { truth, attributions } = run(seed, 'bad-batch');
    const want = truth.faults[0]!.slice.batch!;
    assert.equal(attributions[0]?.dim, 'batch', JSON.stringify(attributions));
    assert.equal(attributions[0]?.value, want);
    assert.deepEqual(
      attributions.filter((a) => a.dim === 'machine'),
      [],
    );
    const start = attributions[0]!.startBucket * B;
    assert.ok(Math.abs(start - truth.faults[0]!.start_ts) <= B, 'dated to the batch start');
  });

  test(`seed ${seed}: a creeping machine is blamed as the machine, not as its batches`, () => {
    const { truth, attributions } = run(seed, 'creep');
    assert.equal(attributions[0]?.dim, 'machine', JSON.stringify(attributions));
    assert.equal(attributions[0]?.value, truth.faults[0]!.slice.machine);
    assert.deepEqual(
      attributions.filter((a) => a.dim === 'batch'),
      [],
    );
  });

  test(`seed ${seed}: a fault-free line is blamed for nothing`, () => {
    assert.deepEqual(run(seed, 'none').attributions, []);
  });
}
