// One base, one adapter per line: `finetune --lora --save-adapter` writes the adapter beside the merged
// model; `eval <base> --adapter file` scores what the merged model scores, and `serve <base> --adapter
// file` answers what the merged model answers, under the adapter's name. --save-adapter without --lora, and an adapter for another base, are refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { request } from 'undici';
import { writeModel } from '../src/onnx/write-model.js';
import { runCli } from '../src/cli/test-cli.js';
import { buildMlp } from '../src/train/models.js';

const root = join(fileURLToPath(import.meta.url), '..', '..');

function serve(args: string[]): Promise<{ url: string; stop: () => Promise<number | null>; log: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'edgefit-dev.mjs'), 'serve', ...args, '--port', '0', '--warmup', '2'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      log += d.toString();
      const url = /listening on (http:\/\/\S+)/.exec(log)?.[1];
      if (url)
        resolve({
          url,
          log: () => log,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
    });
    exited.then((code) => reject(Object.assign(new Error(`serve exited with ${code}:\n${log}`), { log, code })));
  });
}

test('finetune --save-adapter, then serve <base> --adapter: the merged model answers', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-adapter-e2e-'));
  try {
    const [base, merged, adapter] = ['base.onnx', 'line3.onnx', 'line3.adapter.onnx'].map((f) => join(dir, f));
    writeModel(buildMlp([784, 48, 32, 10], 3), base);
    const common = ['finetune', base, '--task', 'mnist', '--limit', '400', '-e', '2', '--unfreeze-epochs', '2'];

    const noLora = await runCli([...common, '--save-adapter', adapter, '-o', merged]);
    assert.equal(noLora.code, 2, noLora.stderr);
    assert.match(noLora.stderr, /--save-adapter writes what LoRA trained/);
    assert.ok(!existsSync(adapter) && !existsSync(merged), 'nothing written');

    const ft = await runCli([...common, '--lora', '4', '--save-adapter', adapter, '-o', merged]);
    assert.equal(ft.code, 0, ft.stderr);
    assert.match(ft.stderr, /wrote .*line3\.adapter\.onnx: \d+ adapters and the head/);

    // eval <base> --adapter scores what the merged model scores
    const score = async (args: string[]) => {
      const r = await runCli(['eval', ...args, '--task', 'mnist', '-n', '200', '--json']);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { metrics: unknown }).metrics;
    };
    assert.deepEqual(await score([base, '--adapter', adapter]), await score([merged]));
    assert.notDeepEqual(await score([base]), await score([merged]), 'the base alone scores otherwise');

    const s = await serve([base, '--adapter', adapter]);
    try {
      const x = Array.from({ length: 784 }, (_, i) => (i % 7) / 7);
      const r = await request(`${s.url}/v1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { x: { type: 'float32', dims: [1, 784], data: x } } }),
      });
      const body = (await r.body.json()) as { model: string; outputs: { logits: { data: number[] } } };
      assert.equal(r.statusCode, 200, JSON.stringify(body));
      assert.equal(body.model, 'base+line3.adapter');
      const want = await ort.InferenceSession.create(merged);
      const out = await want.run({ x: new ort.Tensor('float32', Float32Array.from(x), [1, 784]) });
      const expected = [...(out.logits!.data as Float32Array)];
      for (const [k, v] of body.outputs.logits.data.entries()) assert.ok(Math.abs(v - expected[k]!) < 1e-5, `logit ${k}: ${v} against ${expected[k]}`);
    } finally {
      assert.equal(await s.stop(), 0);
    }

    // the adapter on another base: refused at start, with the reason
    const other = join(dir, 'other.onnx');
    writeModel(buildMlp([784, 48, 32, 10], 9), other);
    const failed = await serve([other, '--adapter', adapter]).then(
      () => assert.fail('serve started with an adapter for another base'),
      (e: { log: string; code: number }) => e,
    );
    assert.notEqual(failed.code, 0);
    assert.match(failed.log, /was trained on another base model/);
    assert.doesNotMatch(failed.log, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
