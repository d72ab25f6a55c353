import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { describeCalibration, sameAnswer } from './cascade-calibrate.js';
import { calibrateThreshold } from './cascade.js';
import { cascadeConfidence } from './decode-result.js';

const text = (t: string) => ({ kind: 'text' as const, text: t, confidence: 0.9, least: 0.4 });
const label = (l: string) => ({ kind: 'label' as const, label: l, score: 0.9, confidence: 0.9, probabilities: {} });

test('answers agree as the task compares them: whitespace only where the task ignores it', () => {
  assert.equal(sameAnswer(text('LOT 24-117'), text('LOT24-117'), {}), false);
  assert.equal(sameAnswer(text('LOT 24-117'), text('LOT24-117'), { ignoreWhitespace: false }), false);
  assert.equal(sameAnswer(text('LOT 24-117'), text(' LOT24-117\t'), { ignoreWhitespace: true }), true);
  // a different character is a different answer either way
  assert.equal(sameAnswer(text('LOT 24-117'), text('LOT 24-111'), { ignoreWhitespace: true }), false);
  assert.equal(sameAnswer(label('scratch'), label('scratch'), { ignoreWhitespace: true }), true);
  assert.equal(sameAnswer(label('scratch'), label('dent'), {}), false);
});

test("the cascade reads a text's least sure character by choice, a label's score either way", () => {
  assert.equal(cascadeConfidence(text('A1'), 'least'), 0.4);
  assert.equal(cascadeConfidence(text('A1'), 'mean'), 0.9);
  assert.equal(cascadeConfidence({ ...label('ok'), confidence: 0.7 }, 'least'), 0.7);
});

test('the calibration says what it promises, and why everything escalates when it does', () => {
  const agreeing = (n: number) => Array.from({ length: n }, (_, i) => ({ confidence: i / n, agree: true }));
  assert.match(describeCalibration(calibrateThreshold(agreeing(199), 0.99), 'rec', 0.99, 200), /at least 99\.5% expected on new ones/);
  const few = describeCalibration(calibrateThreshold(agreeing(50), 0.99), 'rec', 0.99, 50);
  assert.match(few, /50 items cannot show 99\.0% agreement/);
  assert.match(few, /--cascade-samples 99 or more/);
  // 200 asked, 61 in the validation split: more samples cannot help, more data can
  const small = describeCalibration(calibrateThreshold(agreeing(61), 0.99), 'rec', 0.99, 200);
  assert.match(small, /the task's validation split holds only 61 items and 99 are needed/);
  assert.doesNotMatch(small, /--cascade-samples/);
  // 100 items that all disagree: even one answered alone is a miss, and (1 + 1) / 101 > 1%
  const never = Array.from({ length: 100 }, (_, i) => ({ confidence: i / 100, agree: false }));
  assert.match(describeCalibration(calibrateThreshold(never, 0.99), 'rec', 0.99, 100), /no threshold reaches 99\.0%/);
});
