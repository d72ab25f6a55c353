// Image decoding (PNG, JPEG, BMP, WebP, GIF through Skia in @napi-rs/canvas) and the image half of a task
// spec's preprocessing: resize (stretch / keep aspect / cover), channel order, normalisation, layout.

import { createCanvas, loadImage, ImageData, type Canvas, type Image } from '@napi-rs/canvas';
import { DEFAULT_MAX_PIXELS, imageSize } from './image-header.js';
import { readRegularFile } from './safe-read.js';
import type { ImagePreprocess } from './spec.js';

export { DEFAULT_MAX_PIXELS } from './image-header.js';

export interface DecodeOptions {
  /** Largest image decoded, in pixels (width × height from the header); default 40 MP. */
  maxPixels?: number;
}

/** RGBA pixels, 8 bits a channel, row-major. */
export interface Pixels {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** One preprocessed image, channels-first at its own width (keep-aspect images differ in width until batched). */
export interface PreparedImage {
  /** [C, H, w], normalised. */
  chw: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/**
 * Why an image file looks cut short, or undefined. Skia decodes a truncated PNG or JPEG without
 * complaint (the missing rows come out blank), which would score a model on pixels that are not there;
 * so the end marker of each format is checked first: PNG's IEND chunk, JPEG's EOI, GIF's trailer,
 * the size BMP and WebP headers state.
 */
export function truncation(b: Uint8Array): string | undefined {
  const tail = (n: number) => b.subarray(Math.max(0, b.length - n));
  const has = (hay: Uint8Array, needle: number[]) => {
    for (let i = 0; i + needle.length <= hay.length; i++) if (needle.every((v, j) => hay[i + j] === v)) return true;
    return false;
  };
  const starts = (sig: number[]) => b.length >= sig.length && sig.every((v, i) => b[i] === v);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return has(tail(1024), [0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]) ? undefined : 'truncated PNG (no IEND chunk at the end)';
  if (starts([0xff, 0xd8, 0xff])) return has(tail(1024), [0xff, 0xd9]) ? undefined : 'truncated JPEG (no end-of-image marker)';
  if (starts([0x47, 0x49, 0x46, 0x38])) return has(tail(16), [0x3b]) ? undefined : 'truncated GIF (no trailer)';
  if (starts([0x42, 0x4d]) && b.length >= 6)
    return view.getUint32(2, true) > b.length ? `truncated BMP (${b.length} bytes, the header says ${view.getUint32(2, true)})` : undefined;
  if (starts([0x52, 0x49, 0x46, 0x46]) && b.length >= 12)
    return view.getUint32(4, true) + 8 > b.length ? 'truncated WebP (shorter than its RIFF header says)' : undefined;
  return undefined;
}

/** Why an image is refused before decoding (too large), or undefined; from the header alone. */
export function oversize(bytes: Uint8Array, maxPixels = DEFAULT_MAX_PIXELS): string | undefined {
  const size = imageSize(bytes);
  if (!size || size.width * size.height <= maxPixels) return undefined;
  const mp = (n: number) => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MP`;
  return `image too large: the ${size.format} header says ${size.width}×${size.height} (${mp(size.width * size.height)}), over the ${mp(maxPixels)} limit (--max-pixels)`;
}

/**
 * Decodes an image file; throws a plain Error with the reason when it cannot. Only a regular file is
 * opened, and its header's width × height is checked against maxPixels before the decoder sees it.
 */
export async function decodeImageFile(path: string, opts: DecodeOptions = {}): Promise<Image> {
  const bytes = readRegularFile(path);
  if (bytes.length === 0) throw new Error('the file is empty');
  const big = oversize(bytes, opts.maxPixels);
  if (big) throw new Error(big);
  const cut = truncation(bytes);
  if (cut) throw new Error(cut);
  const img = await loadImage(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (!img.width || !img.height) throw new Error('not a decodable PNG, JPEG or BMP image');
  return img;
}

export function pixelsToCanvas(p: Pixels): Canvas {
  const c = createCanvas(p.width, p.height);
  c.getContext('2d').putImageData(new ImageData(p.data, p.width, p.height), 0, 0);
  return c;
}

export function canvasPixels(c: Canvas): Pixels {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height);
  return { width: c.width, height: c.height, data: d.data };
}

/** Grey levels (0..255) of a W×H image, as RGBA pixels. */
export function grayToPixels(gray: ArrayLike<number>, width: number, height: number, scale = 1): Pixels {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = gray[i]! * scale;
    data[i * 4] = data[i * 4 + 1] = data[i * 4 + 2] = v;
    data[i * 4 + 3] = 255;
  }
  return { width, height, data };
}

type Source = Image | Canvas;

/** Target size of an image of w×h under the spec (before padding). */
export function resizedSize(w: number, h: number, p: ImagePreprocess): { w: number; h: number } {
  switch (p.resize) {
    case 'keep-aspect': {
      const scaled = Math.max(1, Math.ceil((p.height * w) / h));
      // batch-max pads to the widest image instead of squeezing; the cap only stops absurd strips
      const cap = p.pad === 'batch-max' ? p.width * 8 : p.width;
      return { w: Math.min(scaled, cap), h: p.height };
    }
    case 'none':
      return { w, h };
    default:
      return { w: p.width, h: p.height };
  }
}

let scratch: Canvas | undefined;

/** Resizes and normalises one image. */
export function prepareImage(src: Source, p: ImagePreprocess): PreparedImage {
  const sw = src.width;
  const sh = src.height;
  const { w, h } = resizedSize(sw, sh, p);
  // one scratch canvas, resized per image: @napi-rs/canvas frees canvases late (or never) when many
  // are created, so a stream of 100k images must not create one each
  scratch ??= createCanvas(w, h);
  scratch.width = w;
  scratch.height = h;
  const canvas = scratch;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, w, h);
  if (p.resize === 'cover') {
    const s = Math.max(w / sw, h / sh);
    const cw = w / s;
    const ch = h / s;
    ctx.drawImage(src, (sw - cw) / 2, (sh - ch) / 2, cw, ch, 0, 0, w, h);
  } else {
    ctx.drawImage(src, 0, 0, w, h);
  }
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const nc = p.channels === 'gray' ? 1 : 3;
  const order = p.channels === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const chw = new Float32Array(nc * h * w);
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    const r = rgba[i * 4]!;
    const g = rgba[i * 4 + 1]!;
    const b = rgba[i * 4 + 2]!;
    if (nc === 1) {
      chw[i] = ((0.299 * r + 0.587 * g + 0.114 * b) * p.scale - p.mean[0]!) / p.std[0]!;
    } else {
      const px = [r, g, b];
      for (let c = 0; c < 3; c++) chw[c * plane + i] = (px[order[c]!]! * p.scale - p.mean[c]!) / p.std[c]!;
    }
  }
  return { chw, channels: nc, height: h, width: w };
}

/** Stacks prepared images into one batch tensor's data, padding to a common width, in the spec's layout. */
export function stackImages(items: PreparedImage[], p: ImagePreprocess): { data: Float32Array; dims: number[] } {
  const nc = p.channels === 'gray' ? 1 : 3;
  const H = p.resize === 'none' ? items[0]!.height : p.height;
  let W = p.resize === 'none' ? items[0]!.width : p.width;
  if (p.resize === 'keep-aspect' && p.pad === 'batch-max') for (const it of items) W = Math.max(W, it.width);
  const N = items.length;
  const data = new Float32Array(N * nc * H * W).fill(p.padValue);
  for (let n = 0; n < N; n++) {
    const it = items[n]!;
    if (it.height !== H || it.width > W)
      throw new Error(`image ${n} is ${it.width}×${it.height} after resize; the batch needs ${W}×${H} (resize 'none' needs images of one size)`);
    for (let c = 0; c < nc; c++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < it.width; x++) {
          const v = it.chw[c * H * it.width + y * it.width + x]!;
          const at = p.layout === 'NHWC' ? ((n * H + y) * W + x) * nc + c : ((n * nc + c) * H + y) * W + x;
          data[at] = v;
        }
  }
  const dims = p.layout === 'NHWC' ? [N, H, W, nc] : p.layout === 'flat' ? [N, nc * H * W] : [N, nc, H, W];
  return { data, dims };
}
