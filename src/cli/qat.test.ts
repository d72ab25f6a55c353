// `edgefit qat` end to end on a small trained MNIST MLP: the QDQ model is written, and fp32, PTQ and QAT
// are scored side by side on held-out digits.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import { mnistSplits } from '../train/dataset.js';
import { trainModel } from '../train/loop.js';
import { buildMlp } from '../train/models.js';
import { runCli } from './test-cli.js';

test('edgefit qat writes a QDQ model and scores fp32, PTQ and QAT on held-out items', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-cli-qat-'));
  try {
    const fp32 = join(dir, 'm.onnx');
    writeModel((await trainModel({ model: buildMlp([784, 32, 10], 1), train: mnistSplits({ limit: 1000 }).train, epochs: 2, batchSize: 64 })).model, fp32);
    const out = join(dir, 'q.onnx');
    const r = await runCli(['qat', fp32, '--task', 'mnist', '--limit', '300', '--epochs', '1', '--eval-limit', '150', '-o', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      heldOut: Record<'fp32' | 'ptq' | 'qat', { metric: string; value: number; n: number; withoutSpaces?: number }>;
      steps: number;
    };
    assert.equal(j.heldOut.qat.metric, 'accuracy');
    assert.equal(j.heldOut.qat.withoutSpaces, undefined, 'no text, no CER without spaces');
    assert.ok(j.steps > 0);
    assert.ok(j.heldOut.qat.value > j.heldOut.fp32.value - 0.05, JSON.stringify(j.heldOut));
    const m = readModel(out);
    assert.ok(m.graph.nodes.some((n) => n.opType === 'QuantizeLinear') && m.graph.nodes.some((n) => n.opType === 'DequantizeLinear'));
    assert.ok(existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quantize --mode qat is edgefit qat on the --calibration task; without a task it is a usage error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-cli-qat-'));
  try {
    const fp32 = join(dir, 'm.onnx');
    writeModel((await trainModel({ model: buildMlp([784, 16, 10], 2), train: mnistSplits({ limit: 600 }).train, epochs: 1, batchSize: 64 })).model, fp32);
    const out = join(dir, 'q.onnx');
    const r = await runCli(['quantize', fp32, '--mode', 'qat', '--calibration', 'mnist', '-o', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { heldOut: { qat: { metric: string } }; steps: number };
    assert.equal(j.heldOut.qat.metric, 'accuracy');
    assert.ok(j.steps > 0, 'it trained');
    assert.ok(readModel(out).graph.nodes.some((n) => n.opType === 'QuantizeLinear'));
    const bad = await runCli(['quantize', fp32, '--mode', 'qat', '-o', join(dir, 'x.onnx')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--mode qat trains on a task/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
    assert.ok(!existsSync(join(dir, 'x.onnx')), 'nothing half-written');
    const zero = await runCli(['qat', fp32, '--task', 'mnist', '-b', '0', '-o', join(dir, 'z.onnx')]);
    assert.equal(zero.code, 2, 'a batch of 0 looped forever before');
    assert.match(zero.stderr, /--batch must be above 0, got 0/);
    assert.ok(!existsSync(join(dir, 'z.onnx')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('edgefit qat on an OCR task trains with CTC on the texts mixed with the fp32 model, and times fp32 against QAT', async () => {
  const { toyRec } = await import('./test-toy-rec.js');
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-cli-qat-'));
  try {
    const out = join(dir, 'q.onnx');
    const argv = ['qat', toyRec(join(dir, 'rec.onnx')), '--task', 'serials', '--limit', '32', '--epochs', '1', '--batch', '8', '--eval-limit', '20', '-o', out];
    const r = await runCli([...argv, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as {
      objective: string;
      steps: number;
      heldOut: Record<'fp32' | 'ptq' | 'qat', { metric: string; withoutSpaces?: number }>;
      latencyMs: Record<'fp32' | 'qat', { p50: number; p99: number }>;
    };
    assert.equal(j.objective, 'ctc+kd');
    assert.equal(j.steps, 4);
    assert.equal(j.heldOut.qat.metric, 'cer');
    // what was read, spacing apart, beside the task's CER
    for (const k of ['fp32', 'ptq', 'qat'] as const) assert.ok(Number.isFinite(j.heldOut[k].withoutSpaces), JSON.stringify(j.heldOut[k]));
    assert.ok(j.latencyMs.fp32.p50 > 0 && j.latencyMs.qat.p99 >= j.latencyMs.qat.p50);
    const alone = await runCli([...argv, '--kd', '0', '--json']);
    assert.equal((JSON.parse(alone.stdout) as { objective: string }).objective, 'ctc');
    // learned scales on the CTC path: per-tensor (activation) scales train as well as per-channel ones
    const lsq = await runCli([...argv, '--lsq', '--json']);
    assert.equal(lsq.code, 0, lsq.stderr);
    const l = JSON.parse(lsq.stdout) as { learnedScales: boolean; trainableParameters: number };
    const plain = JSON.parse(r.stdout) as { trainableParameters: number };
    assert.equal(l.learnedScales, true);
    assert.ok(l.trainableParameters > plain.trainableParameters, `${l.trainableParameters} vs ${plain.trainableParameters}`);
    // a named static configuration (the search's fast form) in place of --scope: fewer nodes go int8
    const withOut = (o: string) => [...argv.slice(0, -2), '-o', o];
    const chains = await runCli([...withOut(join(dir, 'c.onnx')), '--preset', 'int8-chains', '--json']);
    assert.equal(chains.code, 0, chains.stderr);
    assert.equal((JSON.parse(chains.stdout) as { static: string }).static, 'preset int8-chains');
    assert.equal((JSON.parse(r.stdout) as { static: string }).static, 'scope all');
    const qCount = (f: string) => readModel(f).graph.nodes.filter((n) => n.opType === 'QuantizeLinear').length;
    assert.ok(qCount(join(dir, 'c.onnx')) < qCount(out), `${qCount(join(dir, 'c.onnx'))} vs ${qCount(out)} QuantizeLinear`);
    const unknown = await runCli([...withOut(join(dir, 'u.onnx')), '--preset', 'fastest']);
    assert.equal(unknown.code, 2);
    assert.ok(!existsSync(join(dir, 'u.onnx')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
