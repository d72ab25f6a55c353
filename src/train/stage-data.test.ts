// The samples a chain's training stages get: an OCR task's carry each text as class indices of its
// alphabet (so `recover` trains with CTC); a classification task's carry class labels and no texts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { loadCtcAlphabet } from '../data/dictionary.js';
import { loadTask } from '../data/task.js';
import { readModel } from '../onnx/read-model.js';
import { PADDLE } from '../onnx/test-models.js';
import { stageDataFromTask } from './stage-data.js';

test('an OCR task gives the texts as class indices and the blank; a classification task gives labels only', async () => {
  const rec = readModel(PADDLE.rec.path);
  const { trainData } = await stageDataFromTask({ ref: 'serials', seed: 4 }, rec, 6);
  assert.equal(trainData.blank, 0);
  assert.equal(trainData.sequences?.length, 6);
  assert.equal(trainData.x.length, 6 * trainData.sampleShape.reduce((a, b) => a * b, 1));
  // the first sample's indices spell the first training item's text
  const task = await loadTask('serials', { seed: 4, split: 'train', limit: 1 });
  const out = task.spec.output;
  assert.ok(out.decode === 'ctc');
  const alphabet = loadCtcAlphabet(out.dictionary, out.blank, out.appendSpace, task.baseDir);
  let text: string | undefined;
  for await (const b of task.batches({ batchSize: 1 })) text = b.labels[0] as string;
  assert.equal(Array.from(trainData.sequences![0]!, (k) => alphabet[k]).join(''), text);

  const cls = readModel(PADDLE.cls.path);
  const rotated = await stageDataFromTask({ ref: 'serials-rotated', seed: 4 }, cls, 6);
  assert.equal(rotated.trainData.sequences, undefined);
  assert.equal(rotated.trainData.labels?.length, 6);
});
