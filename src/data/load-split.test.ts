import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, TaskSpecError } from './errors.js';
import { loadSplit } from './load-split.js';
import { encodeNpy } from './npy.js';
import { splitOf } from './rng.js';
import { loadTask, SPLIT_EMPTY } from './task.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-load-split-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A task of one tensor row: too small to split. */
function oneRowTask(): string {
  writeFileSync(join(dir, 'inputs.npy'), encodeNpy(new Float32Array([1, 2]), [1, 2]));
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(new Int32Array([0]), [1]));
  const path = join(dir, 'task.json');
  const spec = {
    name: 'one',
    input: 'v',
    data: { format: 'npy', path: '.' },
    preprocess: { kind: 'tensor' },
    output: { decode: 'classes', classes: ['a'] },
    metric: 'accuracy',
  };
  writeFileSync(path, JSON.stringify(spec));
  return path;
}

test('a task too small to split gives all of it for a split it has no item in; its own split as it is', async () => {
  const path = oneRowTask();
  const id = (await loadTask(path)).itemList()[0]!.id;
  const own = splitOf(id, 0);
  const other = (['train', 'val', 'test'] as const).find((s) => s !== own)!;
  await assert.rejects(loadTask(path, { split: other }), (e) => e instanceof DataError && e.code === SPLIT_EMPTY);
  const fallback = await loadSplit(path, other);
  assert.equal(fallback.whole, true);
  assert.equal(fallback.task.size, 1);
  const same = await loadSplit(path, own);
  assert.equal(same.whole, false);
  assert.equal(same.task.size, 1);
});

test('every other error still surfaces: a missing task file, missing data', async () => {
  await assert.rejects(loadSplit(join(dir, 'no-such-task.json'), 'train'), (e) => e instanceof TaskSpecError);
  await assert.rejects(loadSplit('mnist', 'train', { data: join(dir, 'nowhere') }), (e) => e instanceof DataError && /data not found/.test(e.message));
});
