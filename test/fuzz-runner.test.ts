// `npm run fuzz` itself: a case that hangs is killed by the watchdog and counted as a hang, a case that
// aborts is counted as a crash, and the run goes on with the next case in a fresh child.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('npm run fuzz counts outcomes, and tells a hang and a crash from the case that caused them', () => {
  const script = fileURLToPath(new URL('../scripts/fuzz.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--n', '9', '--jobs', '1', '--timeout-ms', '3000'], {
    encoding: 'utf8',
    env: { ...process.env, EDGEFIT_FUZZ_SELFTEST: 'hang:2,crash:6' },
    timeout: 120_000,
  });
  assert.equal(r.status, 1, r.stderr);
  const count = (what: string) => Number(new RegExp(`${what}:\\s+(\\d+)`).exec(r.stdout)?.[1]);
  assert.equal(count('hang'), 1, r.stdout);
  assert.equal(count('crash'), 1, r.stdout);
  assert.equal(count('untyped exception'), 0, r.stdout);
  assert.equal(count('typed error') + count('accepted'), 7, r.stdout);
  assert.match(r.stdout, /hang in case 2 \(shape\); rerun: npm run fuzz -- --case 2/);
  assert.match(r.stdout, /crash in case 6 \(bytes\)/);
});
