// Test helper: a toy CTC head over serials images, shaped like PaddleOCR rec's output (40 frames of 6625
// classes), small enough to train in a test: x [N, 3, 48, 320] → mean over rows → 40 frames of 8 columns
// × 3 channels → (MatMul [24, hidden] → Relu, a layer pruning can cut) → MatMul [·, 6625] → Softmax.

import { GraphBuilder } from '../onnx/builder.js';
import { DataType } from '../onnx/dtype.js';
import { writeModel } from '../onnx/write-model.js';
import { normal, randn, rng } from '../zoo/rng.js';

/** Writes the toy rec to `path` and returns the path; with `hidden`, a Relu layer named 'hidden' of that width before the head. */
export function toyRec(path: string, opts: { hidden?: number } = {}): string {
  const b = new GraphBuilder();
  const x = b.input('x', DataType.FLOAT, ['n', 3, 48, 320]);
  const cols = b.op('Transpose', [b.op('ReduceMean', [x], { axes: [2], keepdims: 0 })], { perm: [0, 2, 1] });
  let h = b.op('Reshape', [cols, b.int64s('frames_shape', [0, 40, 24])]);
  let width = 24;
  if (opts.hidden) {
    h = b.op('Relu', [b.op('MatMul', [h, b.floats('w1', [24, opts.hidden], randn(24 * opts.hidden, 0.3, normal(rng(2))))], {}, { name: 'hidden' })]);
    width = opts.hidden;
  }
  const z = b.op('MatMul', [h, b.floats('w', [width, 6625], randn(width * 6625, 0.1, normal(rng(3))))], {}, { name: 'head', outputs: ['logits'] });
  b.output(b.op('Softmax', [z], { axis: -1 }, { outputs: ['probs'] }));
  writeModel(b.model(), path);
  return path;
}
