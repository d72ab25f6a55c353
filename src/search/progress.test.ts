import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { PassThrough } from 'node:stream';
import { formatDuration, Progress } from './progress.js';

function sink(tty: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  s.isTTY = tty;
  s.columns = 60;
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  return { s, text: () => text };
}

test('progress: one rewritten line on a terminal, plain lines elsewhere, nothing when quiet', () => {
  const t = sink(true);
  const p = new Progress(t.s);
  p.status({ phase: 'screening', done: 2, total: 10, msLeft: 125_000, current: 'screening quantize-static method=percentile with a long label' });
  p.log('  screened x');
  p.done();
  assert.match(t.text(), /^\r\x1b\[2K\[screening 2\/10, 8 left, 2m05s left\] screening/);
  assert.ok(t.text().split('\r\x1b[2K')[1]!.length <= 60, 'the status line fits the terminal');
  assert.match(t.text(), /\r\x1b\[2K {2}screened x\n/);
  const f = sink(false);
  new Progress(f.s).status({ phase: 'full', done: 0, total: 1, msLeft: 5000 });
  assert.equal(f.text(), '[full 0/1, 1 left, 5s left]\n');
  const q = sink(false);
  new Progress(q.s, true).log('x');
  assert.equal(q.text(), '');
  assert.equal(formatDuration(61_000), '1m01s');
});
