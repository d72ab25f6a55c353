import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createCanvas } from '@napi-rs/canvas';
import { imageSize } from './image-header.js';

test('image dimensions come from the header of PNG, JPEG, WebP, BMP and GIF files', () => {
  const c = createCanvas(37, 21);
  c.getContext('2d').fillRect(0, 0, 10, 10);
  assert.deepEqual(imageSize(c.toBuffer('image/png')), { format: 'PNG', width: 37, height: 21 });
  assert.deepEqual(imageSize(c.toBuffer('image/jpeg')), { format: 'JPEG', width: 37, height: 21 });
  assert.deepEqual(imageSize(c.toBuffer('image/webp')), { format: 'WebP', width: 37, height: 21 });
  const bmp = new Uint8Array(54);
  const v = new DataView(bmp.buffer);
  bmp.set([0x42, 0x4d]);
  v.setInt32(18, 640, true);
  v.setInt32(22, -480, true); // top-down rows
  assert.deepEqual(imageSize(bmp), { format: 'BMP', width: 640, height: 480 });
  const gif = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x10, 0x00, 0x20, 0x00]);
  assert.deepEqual(imageSize(gif), { format: 'GIF', width: 16, height: 32 });
  assert.equal(imageSize(new Uint8Array([1, 2, 3])), undefined);
  assert.equal(imageSize(c.toBuffer('image/png').subarray(0, 20)), undefined, 'a cut header');
});
