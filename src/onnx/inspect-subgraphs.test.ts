import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { vadRecurrent } from '../zoo/index.js';
import { formatInspect, inspectModel } from './inspect-model.js';

test('inspect counts the MACs of Convs inside If branches and says why the total is partial', () => {
  const r = inspectModel(vadRecurrent({ frame: 256, channels: 16 }), { shapes: { input: [1, 256], state: [2, 1, 32] } });
  const conv = r.macs.byOpType.find((e) => e.opType === 'Conv')!;
  assert.equal(conv.nodes, 4, 'two Convs in each branch');
  // 16 kHz: conv1 16·1·8 MACs × 63 outputs, conv2 32·16·3 × 32; 8 kHz: conv1 16·1·4 × 63, conv2 32·16·3 × 32
  assert.equal(conv.macs, 16 * 8 * 63 + 32 * 48 * 32 + 16 * 4 * 63 + 32 * 48 * 32);
  assert.equal(r.macs.inSubgraphs, 8);
  assert.match(r.macs.partial ?? '', /both branches of each If/);
  assert.match(r.macs.partial ?? '', /LSTM MACs are not counted/);
  assert.match(formatInspect(r), /inside If\/Loop\/Scan bodies/);
});
