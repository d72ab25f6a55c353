// The cascade's calibration end to end: two tiny classifiers over the built-in 'parts' images, the
// threshold found on the validation split, checked against the answers recomputed here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/onnx/dtype.js';
import { writeModel } from '../src/onnx/write-model.js';
import { startServer } from '../src/serve/server.js';
import { resolveLadder } from '../src/serve/ladder.js';
import { Engine } from '../src/serve/engine.js';
import { calibrateCascade } from '../src/serve/cascade-calibrate.js';
import { calibrateThreshold } from '../src/serve/cascade.js';
import { preprocessed } from '../src/serve/image-input.js';
import { loadTask } from '../src/data/task.js';
import { validateSpec } from '../src/data/spec.js';
import { png, tinyLadder } from './serve-fixtures.js';

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

/** A CTC "recogniser" over 8×8 grey images whose frames ignore the image: softmax of fixed logits. */
function fixedFrames(path: string, frames: [number, number][], classes: number) {
  const b = new GraphBuilder('frames');
  const x = b.input('x', DataType.FLOAT, ['batch', 64]);
  const logits: number[] = [];
  for (const [k, p] of frames) for (let c = 0; c < classes; c++) logits.push(Math.log(c === k ? p : (1 - p) / (classes - 1)));
  const zero = b.op('MatMul', [x, b.floats('w', [64, logits.length], new Float32Array(64 * logits.length))]);
  const flat = b.op('Add', [zero, b.floats('bias', [logits.length], logits)]);
  const shaped = b.op('Reshape', [flat, b.int64s('shape', [-1, frames.length, classes])]);
  b.output(b.op('Softmax', [shaped], { axis: -1 }, { outputs: ['probs'] }), DataType.FLOAT, ['batch', frames.length, classes]);
  writeModel(b.model({ opset: 17 }), path);
}

test("the cascade compares the text's least sure character by default, PaddleOCR's mean score on request; spaces count in neither when the task ignores them", {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-cascade-'));
  writeFileSync(join(dir, 'dict.txt'), 'a\nb\n \n');
  // fast: "a b" with a at 0.95, the space at 0.3 and b at 0.6; the task ignores whitespace, so the
  // space counts in no confidence (least 0.6, mean 0.775); accurate: "a b", sure of all
  const fast: [number, number][] = [
    [1, 0.95],
    [3, 0.3],
    [2, 0.6],
    [0, 0.9],
  ];
  fixedFrames(join(dir, 'fast.onnx'), fast, 4);
  fixedFrames(
    join(dir, 'accurate.onnx'),
    fast.map(([k]) => [k, 0.99]),
    4,
  );
  const spec = validateSpec({
    name: 'tiny-text',
    preprocess: { kind: 'image', height: 8, width: 8, channels: 'gray', layout: 'flat', resize: 'stretch' },
    output: { decode: 'ctc', dictionary: 'dict.txt', blank: 0, appendSpace: false },
    metric: 'cer',
    ignoreWhitespace: true,
  });
  const s = await startServer({
    ladder: resolveLadder([join(dir, 'accurate.onnx'), join(dir, 'fast.onnx')]),
    port: 0,
    warmup: 1,
    spec,
    baseDir: dir,
    cascadeThreshold: 0.7,
  });
  const ask = async () => {
    const r = await request(`${s.url}/v1/infer`, { method: 'POST', body: png(8, 8), headers: { 'content-type': 'image/png' } });
    return (await r.body.json()) as { model: string; result: { text: string; least: number }; cascade: { escalated: boolean; first_confidence?: number } };
  };
  try {
    const least = await ask();
    assert.equal(least.model, 'accurate');
    assert.ok(Math.abs(least.cascade.first_confidence! - 0.6) < 1e-4, `${least.cascade.first_confidence}`);
    s.settings.cascadeConfidence = 'mean';
    const mean = await ask();
    assert.equal(mean.model, 'fast');
    assert.deepEqual(mean.cascade, { escalated: false });
    assert.equal(mean.result.text, 'a b');
    assert.ok(Math.abs(mean.result.least - 0.6) < 1e-4);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
