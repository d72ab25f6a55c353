import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModel } from '../onnx/read-model.js';
import { writeModel } from '../onnx/write-model.js';
import type { Pass } from '../passes/pass.js';
import { buildMlp } from '../train/models.js';
import { RealMeasurer } from './measure.js';
import { canonicalParams, stageKey } from './stage-cache.js';
import type { CandidateConfig } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'edgefit-stage-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sourcePath = join(dir, 'source.onnx');
writeModel(buildMlp([4, 3], 1), sourcePath);

/** A pass that appends its name (and v) to the model's metadata, counting its runs. */
function fakePass(name: string, runs: Map<string, number>, opts: { fail?: () => boolean; role?: Pass['role']; complete?: boolean } = {}): Pass {
  return {
    name,
    description: name,
    params: { v: { type: 'integer', description: 'v', default: 0 } },
    tolerance: { metric: 'maxAbs', value: 0 },
    ...(opts.role ? { role: opts.role } : {}),
    async run(model, params) {
      if (opts.fail?.()) throw new Error(`${name} crashed`);
      runs.set(`${name}${params.v}`, (runs.get(`${name}${params.v}`) ?? 0) + 1);
      const m = model.clone();
      m.setMeta('chain', `${model.meta('chain') ?? ''}/${name}${params.v}`);
      return {
        model: m,
        record: { pass: name, params, stats: (opts.complete === false ? { complete: false } : {}) as Record<string, boolean>, skipped: [], notes: [] },
      };
    },
  };
}

const settings = (passes: Pass[], stageDir: string) => ({
  sourcePath,
  passes,
  threads: 1,
  screen: { warmup: 1, durationMs: 10, evalItems: 1 },
  full: { warmup: 1, durationMs: 10, evalItems: 1 },
  evalBatchSize: 1,
  stageDir,
});
const cfg = (label: string, ...steps: [string, number][]): CandidateConfig => ({
  label,
  passes: steps.map(([name, v]) => ({ name, params: { v } })),
  session: { graphOptimizationLevel: 'all', disabledOptimizers: [] },
});

test('keys: parameters in any order give one key; another parameter, parent or stage another', () => {
  assert.equal(canonicalParams({ b: 1, a: 2, c: undefined }), '{"a":2,"b":1}');
  assert.equal(stageKey('p', 's', { b: 1, a: 2 }), stageKey('p', 's', { a: 2, b: 1 }));
  assert.notEqual(stageKey('p', 's', { a: 1 }), stageKey('p', 's', { a: 2 }));
  assert.notEqual(stageKey('p', 's', { a: 1 }), stageKey('q', 's', { a: 1 }));
  assert.notEqual(stageKey('p', 's', { a: 1 }), stageKey('p', 't', { a: 1 }));
});

test('chains sharing a prefix build it once; a chain built before is all cache', async () => {
  const runs = new Map<string, number>();
  const m = new RealMeasurer(settings([fakePass('a', runs), fakePass('b', runs)], join(dir, 'shared')));
  const one = cfg('one', ['a', 1], ['b', 1]);
  const two = cfg('two', ['a', 1], ['b', 2]);
  assert.deepEqual(
    m.stagePlan(one).map((s) => s.cached),
    [false, false],
  );
  const r1 = await m.build(one, join(dir, 'one.onnx'));
  assert.deepEqual(
    m.stagePlan(two).map((s) => s.cached),
    [true, false],
    'the plan sees the shared prefix',
  );
  const r2 = await m.build(two, join(dir, 'two.onnx'));
  const r3 = await m.build(one, join(dir, 'one-again.onnx'));
  assert.deepEqual(Object.fromEntries(runs), { a1: 1, b1: 1, b2: 1 });
  assert.deepEqual(
    r1.stageTimes.map((t) => t.cached),
    [false, false],
  );
  assert.deepEqual(
    r2.stageTimes.map((t) => t.cached),
    [true, false],
  );
  assert.deepEqual(
    r3.stageTimes.map((t) => t.cached),
    [true, true],
  );
  assert.equal(r3.sha256, r1.sha256, 'the cached build is the same file');
  assert.deepEqual(
    r3.records.map((r) => r.pass),
    ['a', 'b'],
    'records come back from the cache',
  );
  assert.equal(readModel(join(dir, 'two.onnx')).meta('chain'), '/a1/b2');
});

test('a build that dies between steps resumes at the next step; a step without its record is rebuilt', async () => {
  const runs = new Map<string, number>();
  let crash = true;
  const stageDir = join(dir, 'resume');
  const m = new RealMeasurer(settings([fakePass('a', runs), fakePass('boom', runs, { fail: () => crash }), fakePass('c', runs)], stageDir));
  const chain = cfg('chain', ['a', 1], ['boom', 1], ['c', 1]);
  await assert.rejects(m.build(chain, join(dir, 'chain.onnx')), /boom crashed/);
  assert.deepEqual(
    m.stagePlan(chain).map((s) => s.cached),
    [true, false, false],
  );
  crash = false;
  const r = await m.build(chain, join(dir, 'chain.onnx'));
  assert.deepEqual(Object.fromEntries(runs), { a1: 1, boom1: 1, c1: 1 });
  assert.deepEqual(
    r.stageTimes.map((t) => t.cached),
    [true, false, false],
  );
  // an .onnx whose .json never landed (killed between the two writes) is not an entry
  const last = m.stagePlan(chain)[2]!.key;
  rmSync(join(stageDir, `${last}.json`));
  assert.deepEqual(
    m.stagePlan(chain).map((s) => s.cached),
    [true, true, false],
  );
  await m.build(chain, join(dir, 'chain.onnx'));
  assert.equal(runs.get('c1'), 2);
  assert.ok(!readdirSync(stageDir).some((f) => f.includes('.tmp')), 'no temp file left in the cache');
});

test('a training stage stopped before its last step is not cached under its key, nor is any step after it', async () => {
  const runs = new Map<string, number>();
  const stageDir = join(dir, 'incomplete');
  const m = new RealMeasurer(settings([fakePass('a', runs), fakePass('t', runs, { role: 'train', complete: false }), fakePass('q', runs)], stageDir));
  const chain = cfg('t', ['a', 1], ['t', 1], ['q', 1]);
  const r = await m.build(chain, join(dir, 't.onnx'));
  assert.deepEqual(
    r.stageTimes.map((t) => t.cached),
    [false, false, false],
  );
  assert.deepEqual(
    m.stagePlan(chain).map((s) => s.cached),
    [true, false, false],
  );
  assert.ok(!readdirSync(stageDir).some((f) => f.endsWith('.json') && f.startsWith(m.stagePlan(chain)[2]!.key)), 'the step after it is not cached');
  assert.ok(existsSync(join(dir, 't.onnx')), 'the build still returns what it has');
});

test('another stage context (edgefit code, data, seed) is another cache: nothing built under the old one is reused', async () => {
  const runs = new Map<string, number>();
  const stageDir = join(dir, 'context');
  const passes = [fakePass('a', runs)];
  const one = cfg('one', ['a', 1]);
  const at = (stageContext: string) => new RealMeasurer({ ...settings(passes, stageDir), stageContext });
  await at('code v1').build(one, join(dir, 'ctx1.onnx'));
  assert.deepEqual(
    at('code v1')
      .stagePlan(one)
      .map((s) => s.cached),
    [true],
    'same context: built once',
  );
  assert.deepEqual(
    at('code v2')
      .stagePlan(one)
      .map((s) => s.cached),
    [false],
    'new code: the old entry does not count',
  );
  const r = await at('code v2').build(one, join(dir, 'ctx2.onnx'));
  assert.deepEqual(
    r.stageTimes.map((t) => t.cached),
    [false],
  );
  assert.equal(runs.get('a1'), 2, 'built again under the new context');
});
