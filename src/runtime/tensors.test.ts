import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { DataType, Tensor } from '../onnx/index.js';
import { dataTypeOfOrt, fromOrtTensor, ortTypeOf, toOrtTensor } from './tensors.js';

test('IR tensors and ort tensors convert both ways without changing a bit', () => {
  const cases = [
    Tensor.fromNumbers('f', DataType.FLOAT, [2, 3], [0.5, -1, 2, 3.25, 1e-7, -0]),
    Tensor.fromNumbers('h', DataType.FLOAT16, [3], [1, -2, 0.5]),
    Tensor.fromNumbers('i', DataType.INT64, [2], [-5, 2 ** 40]),
    Tensor.fromNumbers('u', DataType.UINT8, [4], [0, 1, 128, 255]),
    Tensor.fromNumbers('b', DataType.BOOL, [2], [1, 0]),
  ];
  for (const t of cases) {
    const o = toOrtTensor(t);
    assert.equal(o.type, ortTypeOf(t.dataType));
    assert.deepEqual(o.dims, t.dims);
    const back = fromOrtTensor(t.name, o);
    assert.equal(back.dataType, t.dataType);
    assert.deepEqual([...back.data], [...t.data]);
  }
  assert.equal(dataTypeOfOrt('float32'), DataType.FLOAT);
  assert.equal(ortTypeOf(DataType.BFLOAT16), undefined);
});
