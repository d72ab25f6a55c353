import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import { maxAbsDiff, runModel } from '../passes/quant/ort-check.js';
import { buildCnn, buildMlp } from '../train/models.js';
import { randomFeeds } from '../zoo/index.js';
import { runCli } from './test-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-prune-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cnn = join(dir, 'cnn.onnx');
writeModel(buildCnn('cnn:1x28x28-c16-p-c16-p-10', 1), cnn);
const small = ['--train-samples', '64', '--eval-samples', '32', '--rounds', '2', '--task', 'mnist'];
const params = (path: string) => [...readModel(path).graph.initializers.values()].reduce((a, t) => a + t.size, 0);

test('prunes, recovers and prints params, MACs, p50/p99 and quality with an interval', async () => {
  const out = join(dir, 'half.onnx');
  const r = await runCli(['prune', cnn, '-o', out, '--ratio', '0.5', '--recover-epochs', '1', ...small]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(params(out) < params(cnn));
  assert.match(r.stdout, /params: +\d+ → \d+ \(-\d+%\)/);
  assert.match(r.stdout, /MACs: +\d+ → \d+/);
  assert.match(r.stdout, /latency: p50 [\d.]+ → [\d.]+ ms, p99 [\d.]+ → [\d.]+ ms/);
  assert.match(r.stdout, /quality: accuracy [\d.]+ \[[\d.]+, [\d.]+\] → [\d.]+ \[/);
  assert.match(r.stderr, /epoch 1: loss/);
});

test('--method taylor ranks channels by |Σ w·∂L/∂w| from the training engine', async () => {
  const out = join(dir, 'taylor.onnx');
  const r = await runCli(['prune', cnn, '-o', out, '--ratio', '0.5', '--method', 'taylor', '--recover-epochs', '0', ...small]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /taylor importance: gradients/);
  assert.ok(params(out) < params(cnn));
});

test('--json follows the documented schema; ratio 0 writes a model with bit-identical outputs', async () => {
  const out = join(dir, 'same.onnx');
  const r = await runCli(['prune', cnn, '-o', out, '--ratio', '0', '--json', ...small]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.schema, 'edgefit.prune/1');
  for (const k of ['params', 'macs', 'latencyMs', 'speedup', 'quality', 'groups', 'skipped', 'machine']) assert.ok(k in j, k);
  assert.equal(j.params.input, j.params.output);
  assert.equal(j.recovery, null);
  const feeds = randomFeeds({ x: [2, 1, 28, 28] });
  const [a, b] = [await runModel(readModel(cnn), feeds), await runModel(readModel(out), feeds)];
  for (const k of Object.keys(a)) assert.equal(maxAbsDiff(a[k]!, b[k]!), 0);
});

test('bad input: a clear message and no output written', async () => {
  const cases: [string[], RegExp][] = [
    [[cnn, '--ratio', '1.5', ...small], /--ratio must be from 0 to below 1/],
    [[cnn, '--ratio', '0.5', '--eval-samples', '4'], /needs --task/],
  ];
  const mlpPath = join(dir, 'linear.onnx');
  writeModel(buildMlp([784, 10]), mlpPath);
  cases.push([[mlpPath, '--ratio', '0.5', ...small], /nothing in the model can be pruned.*\n.*reaches the model output/]);
  cases.push([
    [cnn, '--ratio', '0.5', '--task', 'serials-rotated', '--eval-samples', '4'],
    /does not fit the model|E_TASK_MODEL|has \d+ scores per item|input/,
  ]);
  for (const [k, [argv, re]] of cases.entries()) {
    const out = join(dir, `bad${k}.onnx`);
    const r = await runCli(['prune', argv[0]!, '-o', out, ...argv.slice(1)]);
    assert.notEqual(r.code, 0, `case ${k} fails`);
    assert.match(r.stderr, re, `case ${k}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(!existsSync(out), `case ${k} wrote nothing`);
  }
});

test('a text model (int64 input_ids, the notes task and its bert-base-uncased tokenizer) loses half its heads and FFN neurons, recovers, and still reads ids', async () => {
  const { bertEncoder } = await import('../zoo/bert-encoder.js');
  const { DataType } = await import('../onnx/dtype.js');
  const bert = join(dir, 'bert.onnx');
  writeModel(bertEncoder({ layers: 1, hidden: 32, heads: 4, seq: 32, intermediate: 64, vocab: 30522, classes: 5 }), bert);
  const out = join(dir, 'bert.half.onnx');
  const r = await runCli(['prune', bert, '-o', out, '--ratio', '0.5', '--recover-epochs', '1', '--json', ...small.slice(0, -2), '--task', 'notes']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(report.recovery.loss.length === 1 && Number.isFinite(report.recovery.loss[0]));
  const m = readModel(out);
  const t = m.graph.realInputs()[0]!.type;
  assert.equal(t?.kind === 'tensor' ? t.elemType : undefined, DataType.INT64);
  assert.equal(m.graph.nodes.filter((n) => n.opType === 'Cast').length, 0, 'the float-fed view is undone');
  assert.deepEqual(report.layersDropped, []);
  const weightOf = (layer: string) => m.graph.initializers.get(m.graph.nodes.find((n) => n.name === layer)!.inputs[1]!)?.dims;
  assert.deepEqual(weightOf('layer0.attn.q'), [32, 16]); // 2 of 4 heads of 8
  assert.deepEqual(weightOf('layer0.ffn.up'), [32, 32]);
});

test('--layers removes whole layers (least block influence first), recovers, and reports them; with --steps it is refused', async () => {
  const { bertEncoder } = await import('../zoo/bert-encoder.js');
  const bert = join(dir, 'bert2.onnx');
  writeModel(bertEncoder({ layers: 2, hidden: 32, heads: 4, seq: 32, intermediate: 64, vocab: 30522, classes: 5 }), bert);
  const out = join(dir, 'bert2.short.onnx');
  const r = await runCli(['prune', bert, '-o', out, '--ratio', '0', '--layers', '2', '--recover-epochs', '1', ...small.slice(0, -2), '--task', 'notes']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((r.stdout.match(/^layer: +dropped '/gm) ?? []).length, 2, r.stdout);
  assert.match(r.stdout, /recovery \(distillation\): 1 epoch/);
  const mm = (path: string) => readModel(path).graph.nodes.filter((n) => n.opType === 'MatMul').length;
  assert.ok(mm(out) < mm(bert), `${mm(out)} MatMuls left of ${mm(bert)}`);
  const bad = await runCli([
    'prune',
    bert,
    '-o',
    join(dir, 'x.onnx'),
    '--ratio',
    '0.2',
    '--layers',
    '1',
    '--steps',
    '2',
    ...small.slice(0, -2),
    '--task',
    'notes',
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--layers works with one-shot pruning/);
  assert.equal(existsSync(join(dir, 'x.onnx')), false);
});

test('an OCR (CTC) task recovers on its texts with the CTC loss: the probe batch loss falls', async () => {
  const { toyRec } = await import('./test-toy-rec.js');
  const rec = toyRec(join(dir, 'toy-rec.onnx'), { hidden: 32 });
  const out = join(dir, 'toy-rec.half.onnx');
  const r = await runCli([
    'prune',
    rec,
    '-o',
    out,
    '--task',
    'serials',
    '--ratio',
    '0.5',
    '--recover-epochs',
    '2',
    '--lr',
    '0.01',
    '--train-samples',
    '32',
    '--eval-samples',
    '16',
    '--rounds',
    '2',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.recovery.objective, 'ctc');
  assert.equal(report.recovery.samples, 32);
  const [before, after] = report.recovery.loss;
  assert.ok(after < before, `CTC loss ${before} → ${after}`);
  assert.deepEqual(readModel(out).graph.initializers.get(readModel(out).graph.nodes.find((n) => n.name === 'hidden')!.inputs[1]!)?.dims, [24, 16]);
});
