// Image dimensions read from the file header (PNG, JPEG, BMP, GIF, WebP), so that an image can be refused
// as too large before a decoder allocates width × height × 4 bytes for it.

/** Default largest image decoded, in pixels (40 MP). */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface ImageSize {
  format: string;
  width: number;
  height: number;
}

const starts = (b: Uint8Array, sig: number[], at = 0) => b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);

/** Width and height from the header, or undefined when the format is not recognised or the header is cut. */
export function imageSize(b: Uint8Array): ImageSize | undefined {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const has = (n: number) => b.length >= n;
  if (starts(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return has(24) ? { format: 'PNG', width: v.getUint32(16), height: v.getUint32(20) } : undefined;
  if (starts(b, [0xff, 0xd8])) return jpegSize(b, v);
  if (starts(b, [0x42, 0x4d])) return has(26) ? { format: 'BMP', width: Math.abs(v.getInt32(18, true)), height: Math.abs(v.getInt32(22, true)) } : undefined;
  if (starts(b, [0x47, 0x49, 0x46, 0x38])) return has(10) ? { format: 'GIF', width: v.getUint16(6, true), height: v.getUint16(8, true) } : undefined;
  if (starts(b, [0x52, 0x49, 0x46, 0x46]) && starts(b, [0x57, 0x45, 0x42, 0x50], 8)) return webpSize(b, v);
  return undefined;
}

/** JPEG: walk the marker segments to the first start-of-frame (SOF0..SOF15 except DHT, JPG, DAC). */
function jpegSize(b: Uint8Array, v: DataView): ImageSize | undefined {
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return undefined;
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    const len = v.getUint16(at + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) return at + 9 <= b.length ? { format: 'JPEG', height: v.getUint16(at + 5), width: v.getUint16(at + 7) } : undefined;
    if (len < 2) return undefined;
    at += 2 + len;
  }
  return undefined;
}

/** WebP: lossy (VP8), lossless (VP8L) or extended (VP8X) header. */
function webpSize(b: Uint8Array, v: DataView): ImageSize | undefined {
  if (b.length < 30) return undefined;
  const chunk = String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!);
  if (chunk === 'VP8 ') return { format: 'WebP', width: v.getUint16(26, true) & 0x3fff, height: v.getUint16(28, true) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = v.getUint32(21, true);
    return { format: 'WebP', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    const u24 = (at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16);
    return { format: 'WebP', width: u24(24) + 1, height: u24(27) + 1 };
  }
  return undefined;
}
