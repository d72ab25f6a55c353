// Image request bodies: the format is sniffed from the bytes (whatever the Content-Type says), the size
// is read from the header and checked against the pixel limit before a byte is decoded (a 20-byte PNG
// can claim 10^9 pixels): checkImage, on the main thread. Then the image is decoded, measured for
// monitoring and preprocessed by the task spec into the model's input tensor: decodeImage, on a decode
// worker (decode-pool.ts).

import { createCanvas, loadImage, type Canvas } from '@napi-rs/canvas';
import { truncation, prepareImage, stackImages, canvasPixels } from '../data/image.js';
import { imageStats, type ImageStats } from '../data/image-stats.js';
import type { ImagePreprocess } from '../data/spec.js';
import { HttpError } from './http-error.js';
import type { WireTensors } from './wire.js';

export const DEFAULT_MAX_PIXELS = 40_000_000;

/** The format and size an image header states, or undefined for bytes that are not a PNG or JPEG. */
export function imageHeader(b: Uint8Array): { format: 'png' | 'jpeg'; width: number; height: number } | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (b.length >= 24 && png.every((v, i) => b[i] === v)) {
    if (String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!) !== 'IHDR') return undefined;
    return { format: 'png', width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    // walk the marker segments to the first start-of-frame, which holds the size
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return undefined;
      const m = b[i + 1]!;
      if (m === 0xff) {
        i++;
        continue;
      }
      if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
        i += 2;
        continue;
      }
      const len = view.getUint16(i + 2);
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc)
        return { format: 'jpeg', height: view.getUint16(i + 5), width: view.getUint16(i + 7) };
      if (len < 2) return undefined;
      i += 2 + len;
    }
    return { format: 'jpeg', width: 0, height: 0 };
  }
  return undefined;
}

let scratch: Canvas | undefined;

export interface DecodedImage {
  feeds: WireTensors;
  stats: ImageStats;
  width: number;
  height: number;
}

/**
 * The checks that need only the bytes, cheap enough for the main thread: not empty, a PNG or JPEG by
 * its signature, a size in the header within the pixel limit (a 20-byte PNG can claim 10^9 pixels), and
 * the file's end marker present. Every failure is a 4xx HttpError; nothing is decoded.
 */
export function checkImage(bytes: Uint8Array, maxPixels: number): { format: 'png' | 'jpeg'; width: number; height: number } {
  if (bytes.length === 0) throw new HttpError(400, 'empty_body', 'the body is empty', 'send the PNG or JPEG bytes as the body');
  const head = imageHeader(bytes);
  if (!head)
    throw new HttpError(
      415,
      'not_an_image',
      'the body is not a PNG or JPEG image',
      'send PNG or JPEG bytes with Content-Type image/png or image/jpeg, or a JSON tensor body with application/json',
    );
  if (head.width === 0 || head.height === 0)
    throw new HttpError(400, 'bad_image', `the ${head.format.toUpperCase()} header states no size (${head.width}×${head.height})`, 'send a complete image');
  if (head.width * head.height > maxPixels)
    throw new HttpError(
      413,
      'image_too_large',
      `the image is ${head.width}×${head.height} = ${head.width * head.height} pixels, more than the limit of ${maxPixels}`,
      'send a smaller image, or start the server with a larger --max-pixels',
    );
  const cut = truncation(bytes);
  if (cut) throw new HttpError(400, 'bad_image', cut, 'send the whole file');
  return head;
}

/**
 * Decodes checked image bytes, measures them for monitoring and preprocesses them by the task spec into
 * the model's input tensor (the pixel work: the server runs it on a decode worker, never on its main
 * thread). Every failure is a 4xx HttpError.
 */
export async function decodeImage(bytes: Uint8Array, p: ImagePreprocess, input: string): Promise<DecodedImage> {
  let img;
  try {
    img = await loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new HttpError(400, 'bad_image', `the image cannot be decoded: ${(e as Error).message}`, 'send a valid PNG or JPEG');
  }
  if (!img.width || !img.height) throw new HttpError(400, 'bad_image', 'the image cannot be decoded', 'send a valid PNG or JPEG');
  if (p.resize === 'none' && (img.width !== p.width || img.height !== p.height))
    throw new HttpError(
      422,
      'wrong_image_size',
      `the image is ${img.width}×${img.height}; the model takes exactly ${p.width}×${p.height}`,
      'resize the image before sending it',
    );
  // one scratch canvas, resized per image: @napi-rs/canvas frees canvases late when many are created
  scratch ??= createCanvas(img.width, img.height);
  scratch.width = img.width;
  scratch.height = img.height;
  const canvas = scratch;
  canvas.getContext('2d').drawImage(img, 0, 0);
  const stats = imageStats(canvasPixels(canvas));
  return { feeds: preprocessed(img, p, input), stats, width: img.width, height: img.height };
}

/** Checks, decodes and preprocesses one image in this thread; every failure is a 4xx HttpError. */
export async function imageFeeds(bytes: Uint8Array, p: ImagePreprocess, input: string, maxPixels: number): Promise<DecodedImage> {
  checkImage(bytes, maxPixels);
  return decodeImage(bytes, p, input);
}

/** A decoded image (or canvas) as the model's input tensor, batch of one. */
export function preprocessed(img: Parameters<typeof prepareImage>[0], p: ImagePreprocess, input: string): WireTensors {
  const { data, dims } = stackImages([prepareImage(img, p)], p);
  const tensor =
    p.dtype === 'uint8'
      ? { type: 'uint8', dims, data: Uint8Array.from(data, (v) => Math.max(0, Math.min(255, Math.round(v)))) }
      : { type: 'float32', dims, data };
  return { [input]: tensor };
}
