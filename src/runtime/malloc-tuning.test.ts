// When edgefit tunes glibc's malloc for a process it starts, and how a process reports its own malloc.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { MALLOC_TUNING, mallocMode, mallocTuningEnv } from './malloc-tuning.js';

test('the tuning goes to children on Linux only, and never over the user’s own malloc settings', () => {
  assert.deepEqual(mallocTuningEnv({}, 'linux'), MALLOC_TUNING);
  assert.deepEqual(mallocTuningEnv({ PATH: '/bin' }, 'linux'), MALLOC_TUNING);
  assert.deepEqual(mallocTuningEnv({}, 'darwin'), {}, 'another C library');
  assert.deepEqual(mallocTuningEnv({}, 'win32'), {});
  assert.deepEqual(mallocTuningEnv({ EDGEFIT_MALLOC: 'default' }, 'linux'), {}, 'turned off');
  for (const k of ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_MAX_'])
    assert.deepEqual(mallocTuningEnv({ [k]: '65536' }, 'linux'), {}, `${k} set by the user`);
  assert.deepEqual(mallocTuningEnv({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1' }, 'linux'), {});
  assert.deepEqual(mallocTuningEnv({ GLIBC_TUNABLES: 'glibc.rtld.nns=2', MALLOC_ARENA_MAX: '2' }, 'linux'), MALLOC_TUNING, 'other settings do not conflict');
});

test('a process says how its malloc runs', () => {
  assert.equal(mallocMode({ ...MALLOC_TUNING }), 'tuned');
  assert.equal(mallocMode({ ...MALLOC_TUNING, MALLOC_TRIM_THRESHOLD_: '5' }), 'user');
  assert.equal(mallocMode({ MALLOC_TOP_PAD_: '1' }), 'user');
  assert.equal(mallocMode({}), 'default');
});
