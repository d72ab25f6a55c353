import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { UsageError } from '../onnx/errors.js';
import { agreement, type ItemOutput } from './agreement.js';
import { checkOutputNames, parseOutputKinds } from './output-kinds.js';

const item = (values: number[]): ItemOutput => ({ data: Float32Array.from(values), dims: [1, values.length] });

test('--output-kind parses output=kind, and refuses a bad kind, a missing =, a name given twice, an unknown output', () => {
  assert.deepEqual(parseOutputKinds(['boxes=dense', 'mask=map']), { boxes: 'dense', mask: 'map' });
  assert.deepEqual(parseOutputKinds(undefined), {});
  assert.deepEqual(parseOutputKinds(['a=b=dense']), { 'a=b': 'dense' }, 'the last = splits, so an output name may hold one');
  assert.throws(
    () => parseOutputKinds(['boxes=regression']),
    (e: unknown) => e instanceof UsageError && /not output=kind/.test(e.message),
  );
  assert.throws(() => parseOutputKinds(['dense']), UsageError);
  assert.throws(() => parseOutputKinds(['=dense']), UsageError);
  assert.throws(() => parseOutputKinds(['x=dense', 'x=map']), /twice/);
  assert.throws(
    () => parseOutputKinds(['boxes=dense'], ['scores', 'boxez']),
    (e: unknown) => e instanceof UsageError && /'boxes', which the model does not output/.test(e.message) && /'boxez'/.test(e.hint ?? ''),
  );
  checkOutputNames({ scores: 'class-scores' }, ['scores']);
});

test('a kind given by name replaces the guess: a [1, 4] box regression is judged by cosine, not top-1', () => {
  const ref = [item([0.1, 0.2, 0.8, 0.9]), item([0.3, 0.3, 0.6, 0.7])];
  // the candidate moves the boxes a little; top-1 of the "scores" flips on the second item (0.6 vs 0.7 → 0.75 vs 0.7)
  const got = [item([0.1, 0.2, 0.8, 0.9]), item([0.3, 0.3, 0.75, 0.7])];
  const guessed = agreement(['boxes'], [got], [ref]);
  assert.equal(guessed.outputs[0]!.kind, 'class-scores');
  assert.equal(guessed.primary.name, 'top1-agreement');
  assert.equal(guessed.primary.value, 0.5);
  const said = agreement(['boxes'], [got], [ref], 0, { boxes: 'dense' });
  assert.equal(said.outputs[0]!.kind, 'dense');
  assert.equal(said.primary.name, 'cosine');
  assert.ok(said.primary.value > 0.99 && said.primary.value < 1, `cosine ${said.primary.value}`);
  assert.equal(agreement(['other'], [got], [ref], 0, { boxes: 'dense' }).outputs[0]!.kind, 'class-scores', 'only the named output');
});
