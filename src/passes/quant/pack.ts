// Packing of sub-byte integer codes, low bits first (element 0 in bits 0..bits-1 of byte 0), as
// ONNX INT4/UINT4 and com.microsoft MatMulNBits store them.

/** Packs unsigned codes (each < 2^bits) into bytes; bits ∈ {2, 4, 8}. */
export function packBits(codes: ArrayLike<number>, bits: 2 | 4 | 8): Uint8Array {
  const perByte = 8 / bits;
  const out = new Uint8Array(Math.ceil(codes.length / perByte));
  const mask = (1 << bits) - 1;
  for (let i = 0; i < codes.length; i++) out[(i / perByte) | 0]! |= (codes[i]! & mask) << ((i % perByte) * bits);
  return out;
}

export function unpackBits(bytes: Uint8Array, bits: 2 | 4 | 8, count: number): Uint8Array {
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (bytes[(i / perByte) | 0]! >> ((i % perByte) * bits)) & mask;
  return out;
}
