import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { progressBar } from './progress.js';

function stream(isTTY: boolean) {
  const s = new Writable({ write: (c, _e, cb) => ((s.text += String(c)), cb()) }) as Writable & { isTTY?: boolean; text: string; columns: number };
  s.text = '';
  s.isTTY = isTTY;
  s.columns = 80;
  return s;
}

test('the progress bar draws on a terminal and clears its line at the end', () => {
  const s = stream(true);
  const bar = progressBar(s, 'bench');
  bar.update({ phase: 'measure', done: 5, total: 10, elapsedMs: 1200 });
  assert.match(s.text, /bench measure .*5\/10 1\.2s/);
  bar.done();
  assert.ok(s.text.endsWith('\r\x1b[2K'));
});

test('nothing is written when the stream is not a terminal', () => {
  const s = stream(false);
  const bar = progressBar(s, 'bench');
  bar.update({ phase: 'warmup', done: 1, total: 5, elapsedMs: 10 });
  bar.done();
  assert.equal(s.text, '');
});
