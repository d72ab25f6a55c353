import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeFiles, codeFingerprint, fingerprintTree } from './code-fingerprint.js';

const root = mkdtempSync(join(tmpdir(), 'edgefit-fingerprint-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'passes'));
writeFileSync(join(root, 'passes', 'quantize.js'), 'export const scale = 1;\n');
writeFileSync(join(root, 'index.js'), 'export {};\n');
writeFileSync(join(root, 'passes', 'quantize.test.js'), 'test();\n');
writeFileSync(join(root, 'notes.md'), 'not code\n');

test('codeFiles: code files only, tests left out, sorted paths with /', () => {
  assert.deepEqual(codeFiles(root), ['index.js', 'passes/quantize.js']);
});

test('fingerprintTree: a changed module or version changes it; a changed test does not', () => {
  const before = fingerprintTree(root, '0.1.0');
  assert.equal(fingerprintTree(root, '0.1.0'), before, 'stable');
  assert.notEqual(fingerprintTree(root, '0.2.0'), before, 'version');
  writeFileSync(join(root, 'passes', 'quantize.test.js'), 'test(); test();\n');
  assert.equal(fingerprintTree(root, '0.1.0'), before, 'a test is not the code that builds');
  writeFileSync(join(root, 'passes', 'quantize.js'), 'export const scale = 2;\n');
  assert.notEqual(fingerprintTree(root, '0.1.0'), before, 'a pass changed');
});

test('codeFingerprint: this edgefit, with its package version', () => {
  const f = codeFingerprint();
  assert.match(f.sha256, /^[0-9a-f]{64}$/);
  assert.match(f.version, /^\d+\.\d+\.\d+/);
  assert.equal(codeFingerprint(), f, 'computed once');
});
