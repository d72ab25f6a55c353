import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTimeArg } from './time-arg.js';

const now = Date.UTC(2026, 2, 2, 12, 0, 0);

test('relative times count back from now', () => {
  assert.equal(parseTimeArg('since', '30m', now), now - 30 * 60_000);
  assert.equal(parseTimeArg('since', '2h', now), now - 2 * 3_600_000);
  assert.equal(parseTimeArg('since', '3d', now), now - 3 * 86_400_000);
  assert.equal(parseTimeArg('until', '1.5h', now), now - 5_400_000);
  assert.equal(parseTimeArg('until', '1w', now), now - 7 * 86_400_000);
});

test('ISO times (no zone = UTC) and epoch ms', () => {
  assert.equal(parseTimeArg('since', '2026-03-02T14:02:00Z', now), Date.UTC(2026, 2, 2, 14, 2));
  assert.equal(parseTimeArg('since', '2026-03-02T14:02:00', now), Date.UTC(2026, 2, 2, 14, 2));
  assert.equal(parseTimeArg('since', '2026-03-02T14:02:00+01:00', now), Date.UTC(2026, 2, 2, 13, 2));
  assert.equal(parseTimeArg('since', '2026-03-02', now), Date.UTC(2026, 2, 2));
  assert.equal(parseTimeArg('since', '1772431200000', now), 1772431200000);
  assert.equal(parseTimeArg('since', undefined, now), undefined);
});

test('bad values are usage errors naming the flag', () => {
  for (const bad of ['last tuesday', '2x', '-3h', 'h', '', '2026-13-45T99:00'])
    assert.throws(
      () => parseTimeArg('until', bad, now),
      (e: Error & { code?: string }) => e.code === 'E_USAGE' && /--until expects/.test(e.message),
      bad,
    );
});
