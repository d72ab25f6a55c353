import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeModel } from '../onnx/write-model.js';
import { UsageError } from '../onnx/errors.js';
import { checkConstraints, parseConstraint, parseConstraints } from './constraints.js';
import { checkQualityMetrics, planQuality } from './quality-plan.js';
import { segmentationModel, vadLike, writeNpy, blobImages } from './test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-qplan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a folder of <input>.npy on a recurrent model: kinds per output, the default floor, latency values from the data', async () => {
  const m = join(dir, 'vad.onnx');
  writeModel(vadLike(), m);
  const folder = join(dir, 'vad');
  mkdirSync(folder);
  writeNpy(
    join(folder, 'audio.npy'),
    new Float32Array(10 * 16).map((_, i) => Math.sin(i)),
    [10, 16],
  );
  writeNpy(join(folder, 'sr.npy'), new BigInt64Array(10).fill(16000n), [10]);
  const p = await planQuality({ model: m, data: folder, values: {}, seed: 0 });
  assert.equal(p.mode, 'data');
  assert.deepEqual(
    p.kinds!.map((k) => [k.output, k.kind]),
    [
      ['prob', 'decision'],
      ['stateN', 'dense'],
    ],
  );
  assert.equal(p.defaultFloor!.text, 'decision-agreement>=0.99');
  assert.deepEqual(
    p.defaultFloors!.map((f) => f.text),
    ['decision-agreement>=0.99', 'expected-decision-agreement>=0.99', 'stateN:cosine>=0.99'],
    'every output is held to a floor, not only the first; a decision also on its margins',
  );
  assert.ok(p.available.includes('stateN:cosine'));
  assert.equal(p.values.sr, 16000, 'the integer input the data holds keeps its value in latency runs');
  assert.deepEqual(p.shapes!.audio, [1, 16]);
  assert.ok(p.notes.some((n) => /'state' looks like recurrent state/.test(n)));
  assert.equal(p.holdout!.length, 3);
});

test('a map output gets IoU; a metric the outputs cannot give is refused', async () => {
  const m = join(dir, 'seg.onnx');
  writeModel(segmentationModel({ size: 8 }), m);
  const x = writeNpy(join(dir, 'img.npy'), blobImages(6, 8), [6, 3, 8, 8]);
  const p = await planQuality({ model: m, data: x, values: {}, seed: 0 });
  assert.equal(p.kinds![0]!.kind, 'map');
  assert.equal(p.defaultFloor!.text, 'iou>=0.95');
  assert.throws(() => checkQualityMetrics(parseConstraints('exact>=-1pt'), p.available, 'agreement'), UsageError);
  checkQualityMetrics(parseConstraints('iou>=0.9,cosine>=0.99'), p.available, 'agreement');
  const r = await planQuality({ model: m, values: {}, seed: 0, shapes: { image: [1, 3, 8, 8] } });
  assert.equal(r.mode, 'random');
  assert.match(r.describe, /RANDOM inputs/);
});

test('--output-kind replaces the guess, and with it the metrics and the floor; an unknown output is refused first', async () => {
  const m = join(dir, 'seg2.onnx');
  writeModel(segmentationModel({ size: 8 }), m);
  const x = writeNpy(join(dir, 'img2.npy'), blobImages(6, 8), [6, 3, 8, 8]);
  const guessed = await planQuality({ model: m, data: x, values: {}, seed: 0 });
  const out = guessed.kinds![0]!.output;
  const p = await planQuality({ model: m, data: x, values: {}, seed: 0, kinds: { [out]: 'dense' } });
  assert.equal(p.kinds![0]!.kind, 'dense');
  assert.equal(p.defaultFloor!.text, 'cosine>=0.99');
  assert.ok(p.available.includes('rel-l2') && !p.available.includes('iou'));
  await assert.rejects(
    planQuality({ model: m, data: x, values: {}, seed: 0, kinds: { nope: 'dense' } }),
    (e: unknown) => e instanceof UsageError && /'nope', which the model does not output/.test(e.message),
  );
});

test('a floor on a later output is checked on that output: a broken state fails it while the first output passes', () => {
  const floors = [parseConstraint('decision-agreement>=0.99'), parseConstraint('stateN:cosine>=0.99')];
  const ok = checkConstraints(floors, { quality: { 'decision-agreement': 1, 'stateN:cosine': 0.999 } });
  assert.deepEqual(
    ok.map((c) => c.ok),
    [true, true],
  );
  const broken = checkConstraints(floors, { quality: { 'decision-agreement': 1, 'stateN:cosine': 0.7 } });
  assert.deepEqual(
    broken.map((c) => c.ok),
    [true, false],
  );
});
