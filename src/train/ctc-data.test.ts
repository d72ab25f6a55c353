// OCR task samples for CTC: texts become class indices of the task's alphabet (and back), a character
// outside the dictionary keeps the sample out of training, images are stacked at one fixed size.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { loadCtcAlphabet } from '../data/dictionary.js';
import { loadTask } from '../data/task.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { alphabetIndex, ctcSamples, encodeText } from './ctc-data.js';

test('texts encode to alphabet indices and decode back; an unknown character gives undefined', () => {
  const alphabet = loadCtcAlphabet('ppocr_keys_v1', 0, true);
  assert.equal(alphabet.length, 6625);
  const index = alphabetIndex(alphabet);
  for (const text of ['LOT 24-0917', 'SN:A0B1C2', '', 'Rev B']) {
    const ids = encodeText(text, index)!;
    assert.ok(
      ids.every((k) => k > 0),
      'never the blank',
    );
    assert.equal(Array.from(ids, (k) => alphabet[k]).join(''), text);
  }
  assert.equal(encodeText('A\u{1F600}', index), undefined);
});

test('serials samples: fixed-size images and the reference texts as labels', async () => {
  const b = new GraphBuilder();
  b.output(b.op('ReduceMean', [b.input('x', DataType.FLOAT, ['b', 3, 48, 320])], { keepdims: 0 }));
  const task = await loadTask('serials', { limit: 4 });
  const s = await ctcSamples(task, b.model(), { limit: 3 });
  assert.deepEqual(s.sampleShape, [3, 48, 320]);
  assert.equal(s.x.length, 3 * 3 * 48 * 320);
  assert.equal(s.labels.length, 3);
  assert.equal(s.blank, 0);
  assert.equal(s.unknown, 0);
  const alphabet = loadCtcAlphabet('ppocr_keys_v1', 0, true);
  s.labels.forEach((l, i) => {
    assert.ok(s.texts[i]!.length > 0);
    assert.equal(Array.from(l!, (k) => alphabet[k]).join(''), s.texts[i]);
  });
});
