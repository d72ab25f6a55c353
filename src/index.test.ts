import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import * as edgefit from './index.js';

test('the public API exposes each layer', () => {
  for (const name of [
    'readModel',
    'writeModel',
    'GraphBuilder',
    'verifyModel',
    'inferShapes',
    'upgradeOpset',
    'createSession',
    'synthesizeFeeds',
    'benchIsolated',
    'measureLatency',
    'loadTask',
    'evaluate',
    'compareCandidates',
    'trainModel',
    'finetune',
    'validateParams',
    'main',
  ])
    assert.equal(typeof (edgefit as Record<string, unknown>)[name], 'function', name);
  assert.ok(edgefit.PASSES.length >= 6, 'passes are registered');
  assert.equal(typeof edgefit.zoo.mlp, 'function');
});
