import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLadder } from './ladder.js';

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'edgefit-ladder-'));
}

test('model files form a ladder in the order given, ids from their names', () => {
  const dir = scratch();
  try {
    for (const f of ['fp32.onnx', 'int8.onnx']) writeFileSync(join(dir, f), 'x');
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'b', 'fp32.onnx'), 'x');
    const l = resolveLadder([join(dir, 'fp32.onnx'), join(dir, 'int8.onnx'), join(dir, 'b', 'fp32.onnx')]);
    assert.deepEqual(
      l.models.map((m) => m.id),
      ['fp32', 'int8', 'fp32-2'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run directory: best.onnx, or ladder.json with paths relative to it; budget and task from summary.json', () => {
  const dir = scratch();
  try {
    assert.throws(() => resolveLadder([dir]), /no best\.onnx/);
    writeFileSync(join(dir, 'best.onnx'), 'x');
    writeFileSync(
      join(dir, 'summary.json'),
      JSON.stringify({ task: { name: 'serials' }, constraints: [{ kind: 'latency', stat: 'p99', ms: 12 }, { kind: 'quality' }] }),
    );
    const a = resolveLadder([dir]);
    assert.deepEqual(a.models, [{ id: 'best', path: join(dir, 'best.onnx') }]);
    assert.equal(a.budgetMs, 12);
    assert.equal(a.task, 'serials');
    writeFileSync(
      join(dir, 'ladder.json'),
      JSON.stringify({
        models: [
          { id: 'acc', path: 'best.onnx', latency: { p50: 9, p99: 12 }, quality: 0.03 },
          { id: 'fast', path: 'candidates/x/model.onnx' },
        ],
      }),
    );
    const b = resolveLadder([dir]);
    assert.deepEqual(
      b.models.map((m) => [m.id, m.path]),
      [
        ['acc', join(dir, 'best.onnx')],
        ['fast', join(dir, 'candidates/x/model.onnx')],
      ],
    );
    assert.deepEqual(b.models[0]!.latency, { p50: 9, p99: 12 });
    writeFileSync(join(dir, 'ladder.json'), '{"models": []}');
    assert.throws(() => resolveLadder([dir]), /no "models" list/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing paths and no arguments are usage errors', () => {
  assert.throws(() => resolveLadder([]), /no model to serve/);
  assert.throws(() => resolveLadder(['/nonexistent/m.onnx']), /does not exist/);
});
