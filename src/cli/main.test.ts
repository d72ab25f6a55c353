import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli as run } from './test-cli.js';
import { COMMANDS } from './commands.js';

test('top-level help lists every command', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  for (const name of Object.keys(COMMANDS)) assert.match(r.stdout, new RegExp(`\\b${name}\\b`));
});

test('an unknown command is a usage error with a suggestion and no stack', async () => {
  const r = await run(['inspct']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command 'inspct'/);
  assert.match(r.stderr, /edgefit inspect/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});

test('every command loads and has --help', async () => {
  for (const name of Object.keys(COMMANDS)) {
    const r = await run([name, '--help']);
    assert.equal(r.code, 0, `${name} --help failed: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`edgefit ${name}`));
  }
});
