import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { sameAnswer } from './cascade-calibrate.js';

const text = (t: string) => ({ kind: 'text' as const, text: t, confidence: 0.9 });
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
