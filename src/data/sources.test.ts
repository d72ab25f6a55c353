import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { DataError } from './errors.js';
import { imageFolder, npySource, textFile } from './sources.js';
import { loadTask } from './task.js';

const png = (w: number, h: number) => createCanvas(w, h).toBuffer('image/png');

/** A PNG whose header claims w×h: the signature and IHDR of a real one, with the size overwritten. */
function claimedPng(w: number, h: number): Uint8Array {
  const b = Uint8Array.from(png(4, 4));
  const v = new DataView(b.buffer);
  v.setUint32(16, w);
  v.setUint32(20, h);
  return b;
}

function withDir(f: (dir: string, outside: string) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgefit-data-'));
    const outside = mkdtempSync(join(tmpdir(), 'edgefit-outside-'));
    try {
      await f(dir, outside);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  };
}

const loadError = async (dir: string, id: string, opts = {}) => {
  const src = await imageFolder(dir, opts);
  const item = src.items.find((it) => it.id === id)!;
  assert.ok(item, `no item ${id}`);
  const t0 = performance.now();
  const err = await item.load().then(
    () => undefined,
    (e: Error) => e.message,
  );
  return { err, ms: performance.now() - t0 };
};

test(
  'data folders: a link out of the folder, a FIFO and an oversized image are refused before decoding',
  withDir(async (dir, outside) => {
    mkdirSync(join(dir, 'ok'));
    writeFileSync(join(dir, 'ok', 'a.png'), png(8, 8));
    writeFileSync(join(outside, 'secret.png'), png(8, 8));
    symlinkSync(join(outside, 'secret.png'), join(dir, 'ok', 'link.png'));
    symlinkSync(join(dir, 'ok', 'a.png'), join(dir, 'ok', 'inner.png'));
    spawnSync('mkfifo', [join(dir, 'ok', 'x.png')]);
    writeFileSync(join(dir, 'ok', 'huge.png'), claimedPng(50000, 50000));
    writeFileSync(join(dir, 'ok', 'big.png'), png(200, 100));

    assert.match((await loadError(dir, 'ok/link.png')).err ?? '', /link\.png points outside the data folder \(it resolves to .*secret\.png\)/);
    const fifo = await loadError(dir, 'ok/x.png');
    assert.match(fifo.err ?? '', /x\.png is a FIFO \(named pipe\), not a regular file/);
    assert.ok(fifo.ms < 2000);
    assert.match(
      (await loadError(dir, 'ok/huge.png')).err ?? '',
      /huge\.png: image too large: the PNG header says 50000×50000 \(2500 MP\), over the 40 MP limit/,
    );
    assert.match((await loadError(dir, 'ok/big.png', { maxPixels: 10_000 })).err ?? '', /image too large: .* 200×100/);
    assert.equal((await loadError(dir, 'ok/big.png')).err, undefined, 'under the default limit it decodes');
    assert.equal((await loadError(dir, 'ok/inner.png')).err, undefined, 'a link that stays inside is followed');
  }),
);

test(
  'data folders: the same refusals through loadTask name the item, and --max-pixels reaches the reader',
  withDir(async (dir) => {
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a', '1.png'), png(64, 64));
    writeFileSync(join(dir, 'b', '2.png'), png(8, 8));
    const spec = {
      name: 't',
      input: 'x',
      preprocess: { kind: 'image', height: 8, width: 8, channels: 'gray' },
      output: { decode: 'classes', classes: ['a', 'b'] },
      metric: 'accuracy',
    };
    const task = await loadTask(spec as never, { data: dir, maxPixels: 100 });
    await assert.rejects(
      async () => {
        for await (const _ of task.batches({ batchSize: 2 }));
      },
      (e: unknown) => e instanceof DataError && /bad item a\/1\.png: .*image too large/.test(e.message) && /--max-pixels/.test(e.hint ?? ''),
    );
    const skipping = await loadTask(spec as never, { data: dir, maxPixels: 100, onBadItem: 'skip' });
    for await (const _ of skipping.batches({ batchSize: 2 }));
    assert.deepEqual(
      skipping.skipped.map((s) => s.id),
      ['a/1.png'],
    );
  }),
);

test(
  'labels and text files: invalid UTF-8 is refused with the line number; a FIFO labels file does not hang',
  withDir(async (dir) => {
    writeFileSync(join(dir, 'a.png'), png(4, 4));
    const bad = Buffer.concat([Buffer.from('{"file":"a.png","label":"ok"}\n\n{"file":"a.png","label":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]);
    writeFileSync(join(dir, 'labels.jsonl'), bad);
    await assert.rejects(imageFolder(dir), (e: unknown) => e instanceof DataError && /labels\.jsonl:3: not valid UTF-8/.test(e.message));
    const csv = join(dir, 't.csv');
    writeFileSync(csv, Buffer.concat([Buffer.from('text,label\nhello,a\n'), Buffer.from([0xff, 0xfe]), Buffer.from(',b\n')]));
    await assert.rejects(textFile(csv), (e: unknown) => e instanceof DataError && /t\.csv:3: not valid UTF-8/.test(e.message));
    const jsonl = join(dir, 't.jsonl');
    writeFileSync(jsonl, Buffer.concat([Buffer.from('{"text":"ok","label":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}\n')]));
    await assert.rejects(textFile(jsonl), (e: unknown) => e instanceof DataError && /t\.jsonl:1: not valid UTF-8/.test(e.message));
    writeFileSync(jsonl, '{"text":"naïve ✓","label":"ü"}\n');
    assert.deepEqual((await textFile(jsonl)).classes, ['ü']);
    rmSync(join(dir, 'labels.jsonl'));
    spawnSync('mkfifo', [join(dir, 'labels.jsonl')]);
    await assert.rejects(imageFolder(dir), (e: unknown) => e instanceof DataError && /labels\.jsonl.*FIFO/.test(e.message));
  }),
);

test(
  'a FIFO given as a .npy or a task spec is an error, not a hang',
  withDir(async (dir) => {
    spawnSync('mkfifo', [join(dir, 'x.npy')]);
    spawnSync('mkfifo', [join(dir, 'spec.json')]);
    assert.throws(
      () => npySource(join(dir, 'x.npy'), []),
      (e: unknown) => e instanceof DataError && /x\.npy is a FIFO/.test(e.message),
    );
    await assert.rejects(loadTask(join(dir, 'spec.json')), /spec\.json: cannot be read as UTF-8 text: .*FIFO/);
  }),
);
