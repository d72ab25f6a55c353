// Students made from the teacher by dropping residual blocks: fewer blocks, the same output, the kept
// weights taken from the teacher; dropping every block is refused.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { UsageError } from '../onnx/errors.js';
import { createSession } from '../runtime/session.js';
import { bertEncoder, randomFeeds, resnetCnn } from '../zoo/index.js';
import { buildStudent, residualBlocks } from './student.js';

for (const c of [
  { name: 'ResNet', build: () => resnetCnn({ imageSize: 16, widths: [4, 8], blocksPerStage: 2 }), shape: [2, 3, 16, 16] },
  { name: 'BERT encoder', build: () => bertEncoder({ layers: 4, hidden: 32, heads: 2, seq: 8, classes: 3 }), shape: [2, 8, 32] },
])
  test(`drop:every-other on a ${c.name}: half the residual blocks, teacher weights, same output shape`, async () => {
    const teacher = c.build();
    const blocks = residualBlocks(teacher.graph).length;
    assert.ok(blocks >= 2);
    const student = buildStudent('drop:every-other', teacher);
    assert.equal(residualBlocks(student.graph).length, blocks - Math.floor(blocks / 2));
    assert.ok(student.graph.nodes.length < teacher.graph.nodes.length);
    for (const [name, t] of student.graph.initializers) assert.deepEqual(t.toFloat32(), teacher.graph.initializers.get(name)!.toFloat32(), name);
    const x = randomFeeds({ x: c.shape }).x!;
    const run = async (m: typeof teacher) => {
      const s = await createSession(m);
      const r = await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.data, x.dims) });
      await s.release();
      return r[s.outputNames[0]!]!.dims;
    };
    assert.deepEqual(await run(student), await run(teacher));
    assert.throws(() => buildStudent('drop:all', teacher), UsageError);
  });
