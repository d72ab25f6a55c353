import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { nextSteps } from './next-steps.js';
import type { Summary } from '../search/types.js';

const cand = (id: string, verdict: unknown) => ({
  id,
  config: { label: id, passes: [], session: { graphOptimizationLevel: 'extended', disabledOptimizers: ['MatMulAddFusion'] } },
  status: 'ok',
  passRecords: [],
  verdict,
});

test('next steps: where best.onnx is, loaders for node and web with the measured inputs, passes that did nothing', () => {
  const s = {
    threads: 1,
    chosen: 'int8',
    inputs: [
      { name: 'audio', type: 'float32', shape: [1, 512] },
      { name: 'sr', type: 'int64', shape: [] },
    ],
    candidates: [cand('int8', { kind: 'chosen' }), cand('int4', { kind: 'no-change', why: 'the built model is byte-identical to the source' })],
  } as unknown as Summary;
  const n = nextSteps(s, 'runs/x/best.onnx');
  assert.equal(n.best, 'runs/x/best.onnx');
  assert.match(
    n.node!,
    /from 'onnxruntime-node'[\s\S]*create\("runs\/x\/best\.onnx", \{ intraOpNumThreads: 1, graphOptimizationLevel: 'extended' \}\); \/\/ measured with ORT's MatMulAddFusion off/,
  );
  assert.match(n.node!, /"audio": new ort\.Tensor\('float32', new Float32Array\(512\), \[1, 512\]\)/);
  assert.match(n.node!, /"sr": new ort\.Tensor\('int64', new BigInt64Array\(1\), \[\]\)/);
  assert.match(n.web!, /from 'onnxruntime-web'[\s\S]*'\/models\/best\.onnx'/);
  assert.deepEqual(n.noChange, [{ label: 'int4', why: 'the built model is byte-identical to the source' }]);
  const none = nextSteps({ ...s, chosen: undefined } as Summary);
  assert.equal(none.node, undefined, 'no loader when nothing is recommended');
  assert.equal(none.noChange.length, 1);
});
