// The cascade's calibration end to end: two tiny classifiers over the built-in 'parts' images, the
// threshold found on the validation split, checked against the answers recomputed here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Engine } from '../src/serve/engine.js';
import { calibrateCascade } from '../src/serve/cascade-calibrate.js';
import { calibrateThreshold } from '../src/serve/cascade.js';
import { preprocessed } from '../src/serve/image-input.js';
import { loadTask } from '../src/data/task.js';
import { validateSpec } from '../src/data/spec.js';
import { tinyLadder } from './serve-fixtures.js';

const SPEC = validateSpec({
  name: 'tiny-parts',
  data: { format: 'builtin', builtin: 'parts' },
  preprocess: { kind: 'image', height: 8, width: 8, channels: 'gray', layout: 'flat', resize: 'stretch' },
  output: { decode: 'classes', classes: ['ok', 'scratch', 'dent', 'crack', 'missing'] },
  metric: 'accuracy',
});

test('the calibrated threshold is the one the validation answers call for', { timeout: 60_000 }, async () => {
  const m = tinyLadder({ big: [64, 32, 5], small: [64, 5] });
  const engine = await Engine.start({
    ladder: [
      { id: 'big', path: m.big },
      { id: 'small', path: m.small },
    ],
    warmup: 1,
    spec: SPEC,
  });
  try {
    const c = await calibrateCascade(engine, SPEC, 0.9, 24);
    assert.equal(c.n, 24);
    assert.ok(c.agreement >= 0.9);
    // the same items, answered here model by model
    const task = await loadTask(SPEC, { split: 'val', limit: 24 });
    const samples = [];
    for (const item of task.itemList()) {
      const loaded = await item.load();
      if (loaded.kind !== 'image') throw new Error('image expected');
      const run = async (id: string) =>
        engine.decoder!((await engine.pool.run(0, id, preprocessed(loaded.image, SPEC.preprocess as never, engine.input))).outputs);
      const [fast, acc] = [await run('small'), await run('big')];
      samples.push({ confidence: fast.confidence, agree: fast.kind === 'label' && acc.kind === 'label' && fast.label === acc.label });
    }
    assert.deepEqual(c, calibrateThreshold(samples, 0.9));
    assert.ok(
      samples.some((s) => !s.agree),
      'two different models disagree somewhere, so the test means something',
    );
  } finally {
    await engine.close();
    rmSync(m.dir, { recursive: true, force: true });
  }
});
