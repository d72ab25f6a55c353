import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { inferSpec } from './infer-spec.js';

test('specs are inferred for PaddleOCR rec, cls and MNIST-shaped models, and only for them', () => {
  const rec = inferSpec({ inputs: [{ name: 'x', shape: ['n', 3, 48, 'w'] }], outputs: [{ name: 'softmax_11.tmp_0', shape: ['n', 't', 6625] }] });
  assert.equal(rec?.spec.output.decode, 'ctc');
  assert.equal(rec?.spec.output.name, 'softmax_11.tmp_0');
  const cls = inferSpec({ inputs: [{ name: 'x', shape: ['n', 3, 'h', 'w'] }], outputs: [{ name: 'p', shape: ['n', 2] }] });
  assert.deepEqual(cls?.spec.output.decode === 'classes' && cls.spec.output.classes, ['0', '180']);
  const flat = inferSpec({ inputs: [{ name: 'pixels', shape: ['N', 784] }], outputs: [{ name: 'logits', shape: ['N', 10] }] });
  assert.equal(flat?.spec.input, 'pixels');
  assert.equal(flat?.spec.preprocess.kind === 'image' && flat.spec.preprocess.layout, 'flat');
  assert.equal(inferSpec({ inputs: [{ name: 'x', shape: ['n', 3, 640, 640] }], outputs: [{ name: 'maps', shape: ['n', 1, 640, 640] }] }), null);
  assert.equal(inferSpec({ inputs: [{ name: 'a' }, { name: 'b' }], outputs: [{ name: 'y' }] }), null);
});
