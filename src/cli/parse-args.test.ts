import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, formatHelp, parseArgs } from './parse-args.js';
import type { FlagSpec } from './command.js';
import { UsageError } from '../onnx/errors.js';

const flags: FlagSpec[] = [
  { name: 'threads', type: 'integer', description: 'intra-op threads', default: 1 },
  { name: 'json', type: 'boolean', description: 'machine output' },
  { name: 'shape', type: 'string[]', description: 'input shapes' },
  { name: 'mode', type: 'string', description: 'mode', values: ['dynamic', 'static'] },
  { name: 'output', short: 'o', type: 'string', description: 'output path' },
];

test('parses flags in both forms, defaults, booleans and lists', () => {
  const p = parseArgs(
    ['m.onnx', '--threads=2', '--json', '--shape', 'x=1,3', '--shape', 'y=2', '-o', 'out.onnx'],
    flags,
    [{ name: 'model', description: '' }],
    't',
  );
  assert.deepEqual(p.args, ['m.onnx']);
  assert.equal(p.flags.threads, 2);
  assert.equal(p.flags.json, true);
  assert.deepEqual(p.flags.shape, ['x=1', '3', 'y=2']);
  assert.equal(p.flags.output, 'out.onnx');
  assert.equal(parseArgs(['m'], flags, [{ name: 'model', description: '' }], 't').flags.threads, 1);
  assert.equal(parseArgs(['m', '--no-json'], flags, [{ name: 'model', description: '' }], 't').flags.json, false);
});

test('unknown flag suggests the closest one', () => {
  assert.throws(
    () => parseArgs(['--thread', '2'], flags, [], 't'),
    (e: unknown) => e instanceof UsageError && /unknown flag '--thread'/.test(e.message) && /--threads/.test(e.hint ?? ''),
  );
});

test('bad values are rejected with the flag named', () => {
  assert.throws(() => parseArgs(['--threads', 'two'], flags, [], 't'), /--threads expects a whole number, got 'two'/);
  assert.throws(
    () => parseArgs(['--mode', 'dynamc'], flags, [], 't'),
    (e: unknown) => e instanceof UsageError && /dynamic/.test(e.hint ?? ''),
  );
  assert.throws(() => parseArgs(['--output'], flags, [], 't'), /--output needs a value/);
});

test('a single-value flag given twice with different values is refused, not last-one-wins', () => {
  assert.throws(
    () => parseArgs(['m', '-o', 'a.onnx', '--output', 'b.onnx'], flags, [{ name: 'model', description: '' }], 'x'),
    /--output is given twice, as 'a\.onnx' and 'b\.onnx'/,
  );
  assert.throws(() => parseArgs(['m', '--threads', '2', '--threads=4'], flags, [{ name: 'model', description: '' }], 'x'), /--threads is given twice/);
  // the same value twice is harmless, and list flags add up
  const p = parseArgs(['m', '--threads', '2', '--threads', '2', '--shape', 'x=1', '--shape', 'y=2'], flags, [{ name: 'model', description: '' }], 'x');
  assert.equal(p.flags.threads, 2);
  assert.deepEqual(p.flags.shape, ['x=1', 'y=2']);
});

test('missing and extra positional arguments are usage errors', () => {
  assert.throws(() => parseArgs([], flags, [{ name: 'model', description: '' }], 'inspect'), /needs <model>/);
  assert.throws(() => parseArgs(['a', 'b'], flags, [{ name: 'model', description: '' }], 'inspect'), /unexpected argument 'b'/);
  assert.equal(parseArgs(['--help'], flags, [{ name: 'model', description: '' }], 'inspect').help, true);
});

test('negative numbers are values, not flags', () => {
  assert.equal(parseArgs(['--threads', '-1'], flags, [], 't').flags.threads, -1);
  assert.deepEqual(parseArgs(['-0.5'], flags, [{ name: 'x', description: '' }], 't').args, ['-0.5']);
});

test('closest finds near misses only', () => {
  assert.equal(closest('bnech', ['bench', 'inspect']), 'bench');
  assert.equal(closest('zzzzzz', ['bench', 'inspect']), undefined);
});

test('help lists every flag with its default', () => {
  const h = formatHelp({ name: 'bench', summary: 'measure', args: [{ name: 'model', description: 'the model' }], flags });
  for (const f of flags) assert.match(h, new RegExp(`--${f.name}`));
  assert.match(h, /default: 1/);
});
