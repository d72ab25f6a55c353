import { test, after } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSession } from '../runtime/session.js';
import { declaredInputs } from '../runtime/inputs.js';
import { UsageError } from '../onnx/errors.js';
import { DataError } from './errors.js';
import { openUserData } from './user-data.js';
import { sigmoidClassifier, vadLike, writeNpy } from '../search/test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'ef-userdata-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('one .npy for a single-input model: samples on the leading axis, a seeded split whose parts never share a sample', () => {
  const m = sigmoidClassifier({ features: 4 });
  const x = new Float32Array(50 * 4).map((_, i) => i);
  const p = writeNpy(join(dir, 'x.npy'), x, [50, 4]);
  const d = openUserData(p, declaredInputs(m), { seed: 3 });
  assert.equal(d.n, 50);
  assert.equal(d.holdout.length, 15, '30% held out');
  assert.equal(d.calibration.length, 35);
  const held = new Set(d.holdout);
  assert.ok(
    d.calibration.every((i) => !held.has(i)),
    'calibration never sees a held-out sample',
  );
  assert.deepEqual(
    [...new Set([...d.calibration, ...d.holdout])].sort((a, b) => a - b),
    [...Array(50).keys()],
    'every sample is in one part',
  );
  const again = openUserData(p, declaredInputs(m), { seed: 3 });
  assert.deepEqual(again.holdout, d.holdout, 'the same seed gives the same split');
  assert.notDeepEqual(openUserData(p, declaredInputs(m), { seed: 4 }).holdout, d.holdout, 'another seed another split');
  const f = d.feeds(7).x!;
  assert.deepEqual(f.dims, [1, 4]);
  assert.deepEqual([...(f.data as Float32Array)], [28, 29, 30, 31]);
  d.close();
});

test('calibration streams give only calibration samples, held-out streams only held-out ones', async () => {
  const m = sigmoidClassifier({ features: 2 });
  const x = new Float32Array(20 * 2).map((_, i) => Math.floor(i / 2)); // sample i holds [i, i]
  const d = openUserData(writeNpy(join(dir, 'ids.npy'), x, [20, 2]), declaredInputs(m), { seed: 0 });
  const seen = async (part: 'calibration' | 'holdout') => {
    const out: number[] = [];
    for await (const f of d.stream(part)()) out.push((f.x!.data as Float32Array)[0]!);
    return out;
  };
  assert.deepEqual(await seen('calibration'), d.calibration);
  assert.deepEqual(await seen('holdout'), d.holdout);
  assert.equal(
    await (async () => {
      let k = 0;
      for await (const _ of d.stream('holdout', 2)()) k++;
      return k;
    })(),
    2,
  );
});

test('a folder with <input>.npy per input; --value and state zeros fill the rest; the model runs on the feeds', async () => {
  const m = vadLike();
  const folder = join(dir, 'vad');
  mkdirSync(folder);
  writeNpy(join(folder, 'audio.npy'), new Float32Array(6 * 8).fill(0.5), [6, 8]);
  assert.throws(
    () => openUserData(folder, declaredInputs(m)),
    (e: unknown) => e instanceof UsageError && /'sr' needs a value/.test(e.message),
    'the int64 rate is refused without a value',
  );
  const d = openUserData(folder, declaredInputs(m), { values: { sr: 16000 } });
  assert.deepEqual(d.fromData, ['audio']);
  assert.ok(d.notes.some((n) => /'state' looks like recurrent state/.test(n)));
  const f = d.feeds(0);
  assert.deepEqual([...(f.sr!.data as BigInt64Array)], [16000n]);
  assert.ok((f.state!.data as Float32Array).every((v) => v === 0));
  const s = await createSession(m);
  const out = await s.run(f);
  assert.ok((out.prob!.data as Float32Array)[0]! > 0.1, 'the 16 kHz branch ran');
  await s.release();
  // the rate can also come from the data
  writeNpy(join(folder, 'sr.npy'), new BigInt64Array(6).fill(8000n), [6]);
  const d2 = openUserData(folder, declaredInputs(m));
  assert.deepEqual([...(d2.feeds(1).sr!.data as BigInt64Array)], [8000n]);
});

test('bad data is a DataError that says what to do', () => {
  const m = vadLike();
  const one = writeNpy(join(dir, 'audio-only.npy'), new Float32Array(16), [2, 8]);
  assert.throws(
    () => openUserData(one, declaredInputs(m)),
    (e: unknown) => e instanceof DataError && /one array, but the model has 2 inputs to fill: audio, sr/.test(e.message) && /folder/.test(e.hint ?? ''),
  );
  assert.equal(openUserData(one, declaredInputs(m), { values: { sr: 16000 } }).fromData[0], 'audio', 'with the rate given, one file is the audio');
  const m1 = sigmoidClassifier({ features: 4 });
  assert.throws(() => openUserData(writeNpy(join(dir, 'wrong.npy'), new Float32Array(30), [10, 3]), declaredInputs(m1)), /fixes dim 1 at 4/);
  assert.throws(() => openUserData(writeNpy(join(dir, 'single.npy'), new Float32Array(4), [1, 4]), declaredInputs(m1)), /at least 2/);
  const f = join(dir, 'mismatch');
  mkdirSync(f);
  writeNpy(join(f, 'audio.npy'), new Float32Array(16), [2, 8]);
  writeNpy(join(f, 'sr.npy'), new BigInt64Array(3), [3]);
  assert.throws(() => openUserData(f, declaredInputs(m)), /different numbers of samples: audio 2, sr 3/);
  writeFileSync(join(f, 'sr.npy'), '');
  rmSync(join(f, 'sr.npy'));
  writeNpy(join(f, 'rate.npy'), new BigInt64Array(2), [2]);
  assert.throws(() => openUserData(f, declaredInputs(m), { values: { sr: 1 } }), /rate.npy is not named after an input/);
  const nan = writeNpy(join(dir, 'nan.npy'), new Float32Array([1, 2, 3, 4, 5, Number.NaN, 7, 8]), [2, 4]);
  const d = openUserData(nan, declaredInputs(m1));
  assert.throws(() => d.feeds(1), /sample 1 has NaN at element 1/);
});
