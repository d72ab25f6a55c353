// Regressions from issue 9: passes on exported models with If branches (a VAD selecting its 16 kHz or
// 8 kHz path by an int64 input, LSTMs inside) and on torch / tf2onnx exports.
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { DataType } from '../onnx/dtype.js';
import type { Graph } from '../onnx/graph.js';
import type { Model } from '../onnx/model.js';
import { verifyModel } from '../onnx/verify.js';
import { entryFeeds, exporterZoo, type ZooEntry } from '../zoo/index.js';
import type { Feeds } from './pass.js';
import { convertFp16 } from './fp16.js';
import { cosine, runModel } from './quant/ort-check.js';
import { quantizeDynamic } from './quantize-dynamic.js';
import { quantizeInt4 } from './quantize-int4.js';
import { quantizeStatic } from './quantize-static.js';

const entry = (name: string) => exporterZoo().find((e) => e.name === name)!;
const vad = entry('vad-recurrent');
const bodies = (m: Model): Graph[] => m.graph.nodes.flatMap((n) => n.subgraphs());
const bodyOps = (m: Model) => bodies(m).map((g) => g.nodes.map((n) => n.opType));

function calibration(e: ZooEntry): () => AsyncIterable<Feeds> {
  return async function* () {
    for (let s = 0; s < 3; s++) {
      const f = entryFeeds(e, 500 + s);
      yield Object.fromEntries(
        Object.entries(f).map(([k, v]) => [k, { type: v.data instanceof BigInt64Array ? 'int64' : 'float32', dims: v.dims, data: v.data }]),
      );
    }
  };
}

/** Min cosine over outputs, on both branches (sr 16000 and 8000). */
async function agreement(a: Model, b: Model): Promise<number> {
  let min = 1;
  for (const sr of [16000n, 8000n]) {
    const feeds = entryFeeds(vad);
    feeds.sr = { dims: [], data: BigInt64Array.of(sr) };
    const [x, y] = [await runModel(a, feeds), await runModel(b, feeds)];
    for (const k of Object.keys(x)) min = Math.min(min, cosine(x[k]!, y[k]!));
  }
  return min;
}

test('quantize-dynamic on a model with If-nested LSTMs quantizes the MatMuls of both branches (outer-scope weights) and does not throw', async () => {
  const src = vad.build();
  const { model, record } = await quantizeDynamic(src, {});
  verifyModel(model);
  assert.equal(record.stats.quantizedInSubgraphs, 4, 'two decoder MatMuls in each branch');
  for (const ops of bodyOps(model)) assert.equal(ops.filter((o) => o === 'DynamicQuantizeMatMul').length, 2);
  assert.ok(!model.graph.initializers.has('dec1.weight'), 'the float weight the branches shared is gone');
  assert.ok((await agreement(src, model)) > 0.99);
});

test('fp16 enters If branches and keeps the If output types consistent (both branches float32)', async () => {
  const src = vad.build();
  const { model, record } = await convertFp16(src, {});
  verifyModel(model);
  assert.equal(record.stats.subgraphs, 2);
  assert.ok(!record.skipped.some((s) => /subgraph/.test(s.reason)));
  for (const g of bodies(model)) {
    assert.ok(
      [...g.initializers.values()].some((t) => t.dataType === DataType.FLOAT16),
      'branch weights are float16',
    );
    for (const o of g.outputs) assert.equal(o.type?.kind === 'tensor' && o.type.elemType, DataType.FLOAT, `${o.name} stays float32`);
    assert.equal(g.nodes.at(-1)?.opType, 'Cast', 'the branch casts its fp16 result back');
  }
  assert.ok((await agreement(src, model)) > 0.995);
});

test('static int8 quantizes nodes inside If branches, each calibrated on the outer values it reads', async () => {
  const src = vad.build();
  const r = await quantizeStatic(src, {}, { calibration: calibration(vad) });
  verifyModel(r.model);
  assert.ok(Number(r.record.stats.quantizedInSubgraphs) >= 8, `quantized in branches: ${r.record.stats.quantizedInSubgraphs}`);
  for (const ops of bodyOps(r.model)) assert.ok(ops.filter((o) => o === 'QuantizeLinear').length >= 2, 'each branch has Q/DQ');
  assert.ok(
    r.record.skipped.some((s) => s.opType === 'LSTM' && /in sr_branch/.test(s.reason)),
    'the LSTM is listed as left float',
  );
  assert.ok((await agreement(src, r.model)) > 0.99);
});

test('int4 finds the MatMuls of both branches', async () => {
  const { model, record } = await quantizeInt4(vad.build(), {});
  verifyModel(model);
  assert.equal(record.stats.quantizedInSubgraphs, 4);
});

test('static int8 on a torch export quantizes every Conv (biases shared through Identity) and on a tf2onnx export every Conv (NHWC Transposes)', async () => {
  for (const name of ['torch-resnet', 'tf2onnx-nhwc']) {
    const e = entry(name);
    const src = e.build();
    const convs = src.graph.nodes.filter((n) => n.opType === 'Conv').length;
    const r = await quantizeStatic(src, {}, { calibration: calibration(e) });
    assert.equal(r.record.stats['quantized.Conv'], convs, `${name}: all ${convs} Convs int8`);
    assert.ok(!r.record.skipped.some((s) => /not a constant|not float32/.test(s.reason)), `${name}: ${JSON.stringify(r.record.skipped)}`);
    const feeds = entryFeeds(e);
    const [x, y] = [await runModel(src, feeds), await runModel(r.model, feeds)];
    for (const k of Object.keys(x)) assert.ok(cosine(x[k]!, y[k]!) > 0.99, `${name} ${k}`);
  }
});

test('without folding, the torch export keeps its Convs float: the regression the fold fixes', async () => {
  const e = entry('torch-resnet');
  const r = await quantizeStatic(e.build(), { foldExporterHabits: false }, { calibration: calibration(e) });
  assert.ok(r.record.skipped.some((s) => s.opType === 'Conv' && /bias is not a constant/.test(s.reason)));
});
