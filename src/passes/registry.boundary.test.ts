// Looking a pass up by name: exactly that name, nothing for an unknown one (the search and the CLI
// turn that into a usage error instead of running some other pass).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { PASSES, findPass } from './registry.js';

test('findPass returns the pass of exactly that name, and nothing for an unknown or differently spelled one', () => {
  assert.ok(PASSES.length >= 2);
  for (const p of PASSES) assert.equal(findPass(p.name)?.name, p.name);
  assert.equal(findPass('no-such-pass'), undefined);
  assert.equal(findPass(''), undefined);
  assert.equal(findPass(PASSES[0]!.name.toUpperCase()), undefined);
  assert.equal(findPass(`${PASSES[0]!.name} `), undefined);
  // The passes the search builds on are registered.
  for (const name of ['constants-to-initializers', 'upgrade-opset', 'quantize-dynamic', 'quantize-static', 'fp16'])
    assert.equal(findPass(name)?.name, name, name);
});
