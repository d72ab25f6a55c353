import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConstraints } from './constraints.js';
import { RunDir, type RunSpec } from './run-dir.js';
import { latencyFigures } from './stats.js';
import { search, type Measurer } from './strategy.js';
import type { CandidateConfig, Measurement } from './types.js';

// What each candidate's model bytes are: two pairs build byte-identical models. If a twin were measured,
// noise (here: a made-up 1 ms) would let it win; it must never be measured or chosen.
const BYTES: Record<string, string> = {
  baseline: 'source-file-bytes',
  'int8 dynamic': 'int8-model',
  'int8 dynamic mergeSiblings': 'int8-model',
  'int4 (no MatMul)': 'source-rewritten',
  'int8 static': 'static-model',
};
const TRUTH: Record<string, { ms: number; q: number }> = {
  baseline: { ms: 10, q: 0.9 },
  'int8 dynamic': { ms: 4, q: 0.9 },
  'int8 dynamic mergeSiblings': { ms: 1, q: 0.9 },
  'int4 (no MatMul)': { ms: 1, q: 0.9 },
  'int8 static': { ms: 3, q: 0.9 },
};

const cfg = (label: string, level: 'all' | 'extended' = 'all'): CandidateConfig => ({
  label,
  passes: label === 'baseline' ? [] : [{ name: 'fake', params: { label } }],
  session: { graphOptimizationLevel: level, disabledOptimizers: [] },
});
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

function measurer(calls: string[]): Measurer {
  return {
    async build(c, out) {
      const bytes = BYTES[c.label] ?? BYTES.baseline!;
      writeFileSync(out, bytes);
      const skipped = c.label.startsWith('int4') ? [{ node: 'conv0', opType: 'Conv', reason: 'not a MatMul' }] : [];
      return {
        records: c.passes.length ? [{ pass: c.label.split(' ')[0]!, params: {}, stats: {}, skipped, notes: [] }] : [],
        sizeBytes: bytes.length,
        sha256: sha(bytes),
      };
    },
    // the source written back unchanged (what a pass that did nothing gives)
    async canonicalSha() {
      return sha('source-rewritten');
    },
    async measure(_p, c, stage): Promise<Measurement> {
      calls.push(`${stage}:${c.label}:${c.session.graphOptimizationLevel}`);
      const t = TRUTH[c.label] ?? TRUTH.baseline!;
      const samples = Array.from({ length: 60 }, (_, i) => t.ms * (1 + 0.02 * ((i * 13) % 7)));
      const n = 100;
      const k = Math.round(t.q * n);
      const perItem = Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));
      return {
        stage,
        latency: latencyFigures(samples),
        quality: { primary: { name: 'exact', value: k / n, ci: [k / n - 0.03, k / n + 0.03] }, metrics: {}, n, perItem, source: 'task' },
        measuredAt: new Date().toISOString(),
        wallMs: 1,
      };
    },
  };
}

const spec = (): RunSpec => ({
  schema: 'edgefit.optimize.run/1',
  command: ['optimize'],
  source: { path: 'm.onnx', sha256: 'abc' },
  task: { ref: 'fake', dataSha256: 'def', limit: 100 },
  budget: [],
  quality: ['exact>=-1pt'],
  objective: 'p99',
  threads: 1,
  timeLimitSec: 600,
  measurement: {},
});

test('a byte-identical candidate is never measured and never chosen; a pass that changed nothing says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-dedup-'));
  try {
    const calls: string[] = [];
    const configs = [
      cfg('baseline'),
      cfg('baseline', 'extended'),
      cfg('int8 dynamic'),
      cfg('int8 dynamic mergeSiblings'),
      cfg('int4 (no MatMul)'),
      cfg('int8 static'),
    ];
    const run = () =>
      search({
        configs,
        measurer: measurer(calls),
        runDir: new RunDir(dir, spec()).open(),
        constraints: parseConstraints('exact>=-1pt'),
        objective: 'p99',
        timeLimitMs: 600_000,
      });
    const out = await run();
    const byLabel = (l: string) => out.results.find((r) => r.config.label === l)!;
    for (const twin of ['int8 dynamic mergeSiblings', 'int4 (no MatMul)']) {
      assert.ok(!calls.some((c) => c.includes(`:${twin}:`)), `${twin} was not measured`);
      assert.equal(byLabel(twin).verdict?.kind, 'no-change', twin);
      assert.equal(byLabel(twin).screen, undefined);
    }
    assert.equal(byLabel('int8 dynamic mergeSiblings').identicalTo, byLabel('int8 dynamic').id);
    assert.match((byLabel('int4 (no MatMul)').verdict as { why: string }).why, /byte-identical to the source: int4 changed nothing \(Conv: not a MatMul\)/);
    // the same bytes under other session settings are another candidate
    assert.ok(
      calls.some((c) => c === 'screen:baseline:extended'),
      'opt=extended is measured',
    );
    assert.equal(out.choice.chosen?.config.label, 'int8 static', 'the fastest real candidate, not a 1 ms twin');
    // a resumed run keeps the verdicts and measures nothing again
    const before = calls.length;
    const again = await run();
    assert.equal(calls.length, before, 'nothing measured on resume');
    assert.equal(again.results.find((r) => r.config.label === 'int4 (no MatMul)')!.verdict?.kind, 'no-change');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
