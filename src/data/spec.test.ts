import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { validateSpec } from './spec.js';
import { TaskSpecError } from './errors.js';
import { BUILTINS } from './builtin.js';

const minimal = {
  name: 'defects',
  preprocess: { kind: 'image', height: 32, width: 32 },
  output: { decode: 'classes', classes: ['ok', 'crack'] },
  metric: 'recall',
  metricClass: 'crack',
};

test('a minimal spec validates and gets documented defaults', () => {
  const s = validateSpec(minimal);
  assert.equal(s.preprocess.kind, 'image');
  if (s.preprocess.kind !== 'image') return;
  assert.equal(s.preprocess.resize, 'stretch');
  assert.equal(s.preprocess.channels, 'RGB');
  assert.equal(s.preprocess.layout, 'NCHW');
  assert.deepEqual(s.preprocess.mean, [0, 0, 0]);
  assert.equal(s.preprocess.scale, 1 / 255);
  assert.equal(s.output.decode === 'classes' && s.output.activation, 'auto');
});

test('unknown keys are rejected with the closest known key', () => {
  assert.throws(
    () => validateSpec({ ...minimal, metrik: 'accuracy' }),
    (e: Error) => e instanceof TaskSpecError && /unknown key 'spec.metrik'.*did you mean 'metric'/.test(e.message),
  );
  assert.throws(() => validateSpec({ ...minimal, preprocess: { ...minimal.preprocess, heigth: 3 } }), /unknown key 'spec.preprocess.heigth'.*'height'/);
  assert.throws(() => validateSpec({ ...minimal, output: { ...minimal.output, clases: [] } }), /spec.output.clases/);
});

test('bad values say what was expected', () => {
  assert.throws(() => validateSpec({ ...minimal, metric: 'acuracy' }), /must be one of .*did you mean 'accuracy'/);
  assert.throws(() => validateSpec({ ...minimal, preprocess: { ...minimal.preprocess, height: 0 } }), /at least 1/);
  assert.throws(() => validateSpec({ ...minimal, preprocess: { ...minimal.preprocess, mean: [0.5, 0.5] } }), /mean' has 2 values; RGB needs 3/);
  assert.throws(() => validateSpec({ ...minimal, metric: 'cer' }), /needs output.decode 'ctc'/);
  assert.throws(() => validateSpec({ ...minimal, metricClass: 'dent' }), /not one of the classes/);
  assert.throws(() => validateSpec({ name: 'x', preprocess: { kind: 'audio' }, output: { decode: 'classes' }, metric: 'accuracy' }), /preprocess.kind/);
  assert.throws(() => validateSpec([]), /must be an object/);
});

test('every built-in spec passes its own validation (a round trip through JSON)', () => {
  for (const [name, b] of Object.entries(BUILTINS)) {
    const again = validateSpec(JSON.parse(JSON.stringify(b.spec)));
    assert.deepEqual(again, b.spec, name);
  }
});

test('duplicate class names and image sides beyond 16384 pixels are spec errors', () => {
  assert.throws(
    () => validateSpec({ ...minimal, output: { decode: 'classes', classes: ['ok', 'crack', 'ok'] } }),
    (e) => e instanceof TaskSpecError && /'ok' twice/.test(e.message),
  );
  assert.throws(
    () => validateSpec({ ...minimal, preprocess: { kind: 'image', height: 1e9, width: 32 } }),
    (e) => e instanceof TaskSpecError && /at most 16384/.test(e.message),
  );
});
