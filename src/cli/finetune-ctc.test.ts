// `edgefit finetune --loss ctc` and `edgefit distill` on an OCR task, end to end on a toy CTC head over
// serials images (40 frames of 6625 classes, like PaddleOCR rec), and the flags they must refuse.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import { buildMlp } from '../train/models.js';
import { runCli } from './test-cli.js';
import { toyRec } from './test-toy-rec.js';

function withDir(f: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefit-cli-ctc-'));
    try {
      await f(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'finetune on serials trains with CTC: loss on the probe batch falls, CER before and after with intervals, model written',
  withDir(async (dir) => {
    const out = join(dir, 'out.onnx');
    const r = await runCli([
      'finetune',
      toyRec(join(dir, 'rec.onnx')),
      '--task',
      'serials',
      '--limit',
      '8',
      '--eval-limit',
      '4',
      '--steps',
      '6',
      '-b',
      '4',
      '--lr',
      '0.05',
      '-o',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.loss, 'ctc');
    assert.equal(j.steps, 6);
    assert.equal(j.history.length, 6);
    assert.ok(j.probeLoss.after < j.probeLoss.before, `CTC loss ${j.probeLoss.before} → ${j.probeLoss.after}`);
    for (const q of [j.heldOut.before, j.heldOut.after]) {
      assert.equal(q.metric, 'cer');
      assert.equal(q.n, 4);
      assert.ok(q.ci[0] <= q.value && q.value <= q.ci[1]);
    }
    assert.ok(existsSync(out));
  }),
);

test(
  'finetune --loss ctc --lora trains only adapters, merges them, and --save-adapter writes them alone: eval <base> --adapter scores as the merged model',
  withDir(async (dir) => {
    const rec = toyRec(join(dir, 'rec.onnx'), { hidden: 16 });
    const [out, adapter] = [join(dir, 'out.onnx'), join(dir, 'line2.adapter.onnx')];
    const args = ['--task', 'serials', '--limit', '8', '--eval-limit', '4', '--steps', '6', '-b', '4', '--lr', '0.05'];
    const r = await runCli(['finetune', rec, ...args, '--lora', '2', '--save-adapter', adapter, '-o', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.lora, { rank: 2, adapters: 2, trainable: 2 * (24 + 16) + 2 * (16 + 6625), adapted: 24 * 16 + 16 * 6625 });
    assert.ok(j.probeLoss.after < j.probeLoss.before, `CTC loss ${j.probeLoss.before} → ${j.probeLoss.after}`);
    assert.ok(statSync(adapter).size < statSync(rec).size / 2, 'the adapter file is smaller than the base');
    const written = readModel(out);
    assert.deepEqual(
      written.graph.nodes.map((n) => n.opType),
      readModel(rec).graph.nodes.map((n) => n.opType),
      'merged on export: the base graph, no adapter nodes',
    );
    const score = async (argv: string[]) => {
      const e = await runCli(['eval', ...argv, '--task', 'serials', '-n', '6', '--json']);
      assert.equal(e.code, 0, e.stderr);
      return JSON.parse(e.stdout);
    };
    const [merged, applied, plain] = [await score([out]), await score([rec, '--adapter', adapter]), await score([rec])];
    const texts = (e: { examples: { got: string }[] }) => e.examples.map((x) => x.got);
    assert.deepEqual([applied.perItem, texts(applied)], [merged.perItem, texts(merged)], 'the adapter on its base reads as the merged model');
    assert.notDeepEqual(texts(merged), texts(plain), 'and not as the base');
  }),
);

/** `edgefit distill` of the toy rec into itself on 8 serials items, one epoch of batch 4, 4 scored. */
const distillArgs = (teacher: string, out: string): string[] => [
  'distill',
  teacher,
  '--student',
  teacher,
  '--task',
  'serials',
  '--limit',
  '8',
  '--eval-limit',
  '4',
  '-b',
  '4',
  '--epochs',
  '1',
  '-o',
  out,
];

test(
  'distill on serials: the distilled student beside the same student trained alone with CTC, CER for all three',
  withDir(async (dir) => {
    const teacher = toyRec(join(dir, 'rec.onnx'));
    const out = join(dir, 's.onnx');
    const r = await runCli([...distillArgs(teacher, out), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.steps, 2);
    // the default alpha 0.5 mixes CTC on the texts with the teacher's frame probabilities
    assert.equal(j.loss, 'ctc+kl');
    assert.equal(j.alpha, 0.5);
    assert.ok(j.teacherRuns >= 1, `the teacher ran ${j.teacherRuns} times`);
    assert.equal(j.trainableParameters > 0, true);
    for (const who of ['teacher', 'distilled', 'alone']) assert.equal(j.heldOut[who].metric, 'cer', who);
    assert.ok(Number.isFinite(j.alone.lossBefore) && Number.isFinite(j.alone.lossAfter));
    assert.ok(existsSync(out));
  }),
);

test(
  'distill on serials with --alpha 1 distils per frame alone; an alpha of 0 or above 1 is refused and writes nothing',
  withDir(async (dir) => {
    const teacher = toyRec(join(dir, 'rec.onnx'));
    const out = join(dir, 's.onnx');
    const base = [...distillArgs(teacher, out), '--no-baseline'];
    const r = await runCli([...base, '--alpha', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.loss, 'kl');
    assert.ok(Number.isFinite(j.teacherSeconds));
    assert.equal(j.heldOut.alone, undefined);
    rmSync(out);
    for (const a of ['0', '1.5']) {
      const bad = await runCli([...base, '--alpha', a]);
      assert.notEqual(bad.code, 0, bad.stderr);
      assert.match(bad.stderr, /--alpha must be above 0 and at most 1/);
      assert.equal(existsSync(out), false);
    }
  }),
);

test(
  'flags that do not apply are refused with a message and nothing written',
  withDir(async (dir) => {
    const rec = toyRec(join(dir, 'rec.onnx'));
    const mlp = join(dir, 'mlp.onnx');
    writeModel(buildMlp([784, 8, 10], 1), mlp);
    const out = join(dir, 'out.onnx');
    const cases: [string[], RegExp][] = [
      [['finetune', rec, '--task', 'serials', '--cut', 'logits', '-o', out], /--cut does not apply to --loss ctc/],
      [['finetune', rec, '--task', 'serials', '--unfreeze', 'all', '--cosine', '-o', out], /--unfreeze, --cosine do not apply/],
      [['finetune', rec, '--task', 'serials', '--steps', '0', '-o', out], /--steps must be at least 1/],
      [['finetune', rec, '--task', 'serials', '--lora', '0', '-o', out], /--lora 0 trains nothing on --loss ctc/],
      [['finetune', rec, '--task', 'serials', '--lora-pattern', 'w', '-o', out], /--lora-pattern chooses the weights --lora adapts/],
      [['finetune', rec, '--task', 'serials', '--lora', '2', '--lora-pattern', '^nothing$', '-o', out], /matches no MatMul, Gemm or 1×1 Conv weight/],
      [['finetune', rec, '--task', 'serials', '--save-adapter', join(dir, 'a.onnx'), '-o', out], /--save-adapter writes what LoRA trained/],
      [['finetune', mlp, '--task', 'mnist', '--steps', '5', '-o', out], /--steps applies to --loss ctc only/],
      [['finetune', mlp, '--task', 'mnist', '--loss', 'ctc', '--limit', '50', '-o', out], /not an OCR task/],
      [['finetune', rec, '--task', 'serials', '--loss', 'huber', '-o', out], /huber/],
      [['distill', rec, '--student', rec, '--task', 'serials', '--lora', '4', '-o', out], /--lora is not supported on an OCR task/],
      [['distill', mlp, '--student', 'mlp:784-4-10', '--task', 'mnist', '--eval-limit', '5', '-o', out], /--eval-limit applies to OCR tasks only/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      assert.notEqual(r.code, 0, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(!existsSync(out), argv.join(' '));
    }
  }),
);
