// `data make` output folders: written whole or not at all, never into a file or a non-empty folder.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDataset } from './make.js';
import { DataError } from './errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'ef-make-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('makeDataset refuses a file, a folder under a file and an unwritable place with a DataError, leaving nothing behind', async () => {
  const file = join(tmp, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(makeDataset('parts', { out: file, n: 2, seed: 0 }), (e) => e instanceof DataError && /is a file/.test(e.message));
  await assert.rejects(makeDataset('parts', { out: join(file, 'sub'), n: 2, seed: 0 }), (e) => e instanceof DataError && /cannot create/.test(e.message));
  // /proc: Node's recursive mkdir never returns there; the error must come back instead
  if (existsSync('/proc/self')) await assert.rejects(makeDataset('parts', { out: '/proc/edgefit-make-test', n: 1, seed: 0 }), (e) => e instanceof DataError);
  assert.deepEqual(readdirSync(tmp), ['a-file']);
  const r = await makeDataset('parts', { out: join(tmp, 'new', 'parts'), n: 3, seed: 0 });
  assert.equal(r.items, 3);
  assert.ok(readdirSync(join(tmp, 'new', 'parts')).includes('task.json'));
});
