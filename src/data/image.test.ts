import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { decodeImageFile, prepareImage } from './image.js';
import { validateSpec, type ImagePreprocess } from './spec.js';

const tmp = mkdtempSync(join(tmpdir(), 'ef-img-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** A 24-bit bottom-up BMP, written byte by byte (rows padded to 4 bytes). */
function bmp(w: number, h: number, rgb: [number, number, number]): Buffer {
  const row = Math.ceil((w * 3) / 4) * 4;
  const buf = Buffer.alloc(54 + row * h);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(54, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(w, 18);
  buf.writeInt32LE(h, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(24, 28);
  buf.writeUInt32LE(row * h, 34);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) buf.set([rgb[2], rgb[1], rgb[0]], 54 + y * row + x * 3);
  return buf;
}

const spec = (pre: Record<string, unknown>) =>
  validateSpec({ name: 't', preprocess: { kind: 'image', ...pre }, output: { decode: 'classes', classes: ['a'] }, metric: 'accuracy' })
    .preprocess as ImagePreprocess;

test('PNG, JPEG and BMP decode to the same colour', async () => {
  const c = createCanvas(6, 5);
  const ctx = c.getContext('2d');
  ctx.fillStyle = 'rgb(200,100,50)';
  ctx.fillRect(0, 0, 6, 5);
  writeFileSync(join(tmp, 'a.png'), await c.encode('png'));
  writeFileSync(join(tmp, 'a.jpg'), await c.encode('jpeg', 95));
  writeFileSync(join(tmp, 'a.bmp'), bmp(6, 5, [200, 100, 50]));
  const p = spec({ height: 5, width: 6, resize: 'none', scale: 1 });
  for (const f of ['a.png', 'a.jpg', 'a.bmp']) {
    const img = await decodeImageFile(join(tmp, f));
    assert.deepEqual([img.width, img.height], [6, 5], f);
    const x = prepareImage(img, p);
    const plane = 30;
    const at = 2 * 6 + 3;
    for (const [c, want] of [
      [0, 200],
      [1, 100],
      [2, 50],
    ] as const)
      assert.ok(Math.abs(x.chw[c * plane + at]! - want) <= 3, `${f} channel ${c}: ${x.chw[c * plane + at]}`);
  }
  writeFileSync(join(tmp, 'empty.png'), '');
  await assert.rejects(decodeImageFile(join(tmp, 'empty.png')), /empty/);
});

test('resize modes: keep-aspect scales to the height and caps the width; cover crops the centre', () => {
  const wide = createCanvas(100, 20);
  assert.equal(prepareImage(wide, spec({ height: 10, width: 40, resize: 'keep-aspect' })).width, 40); // 50 capped at 40
  assert.equal(prepareImage(wide, spec({ height: 10, width: 40, resize: 'keep-aspect', pad: 'batch-max' })).width, 50);
  assert.equal(prepareImage(createCanvas(30, 20), spec({ height: 10, width: 40, resize: 'keep-aspect' })).width, 15);
  // cover: a 40×20 image, left half black, right half white, into 10×10: the centre column pair straddles the edge
  const c = createCanvas(40, 20);
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, 20, 20);
  ctx.fillStyle = '#fff';
  ctx.fillRect(20, 0, 20, 20);
  const x = prepareImage(c, spec({ height: 10, width: 10, resize: 'cover', channels: 'gray', scale: 1 }));
  assert.equal(x.width, 10);
  assert.ok(x.chw[5 * 10 + 0]! < 10 && x.chw[5 * 10 + 9]! > 245, 'left edge dark, right edge light');
});

test('a truncated image is an error, not blank pixels: PNG, JPEG, WebP and BMP cut short are refused, whole ones decode', async () => {
  const c = createCanvas(40, 30);
  const ctx = c.getContext('2d');
  for (let i = 0; i < 40; i++) (ctx.fillStyle = `rgb(${i * 6},${255 - i * 6},${(i * 37) % 255})`), ctx.fillRect(i, 0, 1, 30);
  const files: [string, Buffer][] = [
    ['png', await c.encode('png')],
    ['jpg', await c.encode('jpeg', 90)],
    ['webp', await c.encode('webp', 90)],
    ['bmp', bmp(9, 5, [10, 200, 30])],
  ];
  for (const [ext, bytes] of files) {
    const whole = join(tmp, `whole.${ext}`);
    writeFileSync(whole, bytes);
    assert.ok((await decodeImageFile(whole)).width > 0, ext);
    const cut = join(tmp, `cut.${ext}`);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await assert.rejects(decodeImageFile(cut), /truncated/, ext);
  }
});
