// kill -9 in the middle of a training stage, then a rerun: the build worker is killed (SIGKILL) once the
// recover stage has written its first checkpoint; the rerun takes the pruned model from the stage cache,
// resumes recover from its checkpoint (resumedFromStep > 0) and ends with exactly the weights of a run
// that was never interrupted (the data order is seeded per step).
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '../src/onnx/read-model.js';
import { writeModel } from '../src/onnx/write-model.js';
import { buildCandidate, type BuildRequest } from '../src/search/build.js';
import { PARENT_PID_ENV } from '../src/search/child.js';
import { buildCnn } from '../src/train/models.js';
import { nodeScriptArgs } from '../src/util/node-script.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-stage-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sourcePath = join(dir, 'source.onnx');
writeModel(buildCnn('cnn:1x28x28-c8-p-c16-p-f32-10', 22), sourcePath);

const STEPS = 400;
const request = (stageDir: string, outPath: string): BuildRequest => ({
  sourcePath,
  steps: [
    { name: 'prune-structured', params: { ratio: 0.5 } },
    { name: 'recover', params: { steps: STEPS, batch: 32, lr: 1e-3 } },
  ],
  label: 'prune-recover',
  outPath,
  task: { ref: 'mnist', seed: 0 },
  calibrationItems: 16,
  stageDir,
  seed: 7,
  trainItems: 256,
});

const checkpointIn = (stageDir: string) =>
  existsSync(stageDir) && readdirSync(stageDir).some((f) => f.endsWith('.ckpt') && existsSync(join(stageDir, f, 'state.bin')));

/** Starts the build worker on `req` and SIGKILLs it as soon as a checkpoint exists; resolves whether it had finished first. */
async function killAtFirstCheckpoint(req: BuildRequest): Promise<{ finished: boolean }> {
  const reqPath = join(dir, 'kill-request.json');
  const outPath = join(dir, 'kill-result.json');
  writeFileSync(reqPath, JSON.stringify(req));
  const script = nodeScriptArgs(new URL('../src/search/child.ts', import.meta.url).href, 'build-worker');
  const child = spawn(process.execPath, [...script, reqPath, outPath], { stdio: 'ignore', env: { ...process.env, [PARENT_PID_ENV]: String(process.pid) } });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  for (;;) {
    if (checkpointIn(req.stageDir!)) {
      child.kill('SIGKILL');
      break;
    }
    if (child.exitCode !== null || child.signalCode !== null) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  await closed;
  return { finished: existsSync(outPath) };
}

const weights = (path: string) => [...readModel(path).graph.initializers].map(([name, t]) => [name, Array.from(t.toFloat32())]);

test('kill -9 inside a training stage: the rerun resumes from the checkpoint and ends with the uninterrupted weights', { timeout: 300_000 }, async () => {
  const whole = await buildCandidate(request(join(dir, 'whole'), join(dir, 'whole.onnx')));
  assert.equal(whole.records[1]!.stats.steps, STEPS);

  const stageDir = join(dir, 'killed');
  const killed = await killAtFirstCheckpoint(request(stageDir, join(dir, 'killed.onnx')));
  assert.equal(killed.finished, false, 'the worker was killed before it finished');

  const rerun = await buildCandidate(request(stageDir, join(dir, 'resumed.onnx')));
  const [prune, recover] = rerun.stageTimes;
  assert.equal(prune!.cached, true, 'the pruned model comes from the stage cache');
  assert.equal(recover!.cached, false);
  const from = Number(rerun.records[1]!.stats.resumedFromStep);
  assert.ok(from > 0 && from < STEPS, `resumed from step ${from}`);
  assert.equal(recover!.resumedFromStep, from);
  assert.equal(rerun.records[1]!.stats.steps, STEPS);
  assert.match(rerun.records[1]!.notes.join(' '), /resumed from the checkpoint at step/);
  assert.deepEqual(weights(join(dir, 'resumed.onnx')), weights(join(dir, 'whole.onnx')), 'the same weights as the uninterrupted run');
  assert.ok(!readdirSync(stageDir).some((f) => f.endsWith('.ckpt')), 'the checkpoint is removed once the stage is cached');
});
