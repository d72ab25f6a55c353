import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlSink } from './jsonl-sink.js';

test('appends one JSON line per event, concurrent appends all land, close refuses later appends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgefit-sink-'));
  try {
    const path = join(dir, 'events.jsonl');
    const sink = await JsonlSink.open(path);
    await Promise.all(Array.from({ length: 20 }, (_, i) => sink.append([{ id: `e${i}`, ts: i, line: 'L1', score: 0.5 }])));
    await sink.append([
      { id: 'a', ts: 1 },
      { id: 'b', ts: 2 },
    ]);
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string });
    assert.equal(lines.length, 22);
    assert.deepEqual(new Set(lines.map((l) => l.id)).size, 22);
    await sink.close();
    await assert.rejects(sink.append([{ id: 'late', ts: 3 }]), /closed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
