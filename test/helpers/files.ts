/**
 * Small real files for the attachment tests, built byte by byte: the headers the type check
 * reads (src/files/file-types.ts) with the dimensions asked for. No runtime imports, so both
 * the unit and the worker tests use them.
 */

const ascii = (text: string) => [...text].map((ch) => ch.charCodeAt(0));
const u16be = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u16le = (n: number) => [n & 0xff, (n >> 8) & 0xff];
const u24le = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff];
const u32be = (n: number) => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** A PNG: signature, IHDR (8-bit RGBA), and `padding` bytes standing in for the image data. */
export function pngBytes(width: number, height: number, padding = 32): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...u32be(13),
    ...ascii("IHDR"),
    ...u32be(width),
    ...u32be(height),
    8,
    6,
    0,
    0,
    0,
    ...u32be(0),
    ...new Array<number>(padding).fill(0),
  ]);
}

/** A JPEG: SOI, an APP0 (JFIF) segment of `app0Bytes`, then a baseline SOF0 with the size. */
export function jpegBytes(width: number, height: number, app0Bytes = 16): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xe0,
    ...u16be(app0Bytes),
    ...ascii("JFIF"),
    0,
    ...new Array<number>(app0Bytes - 7).fill(1),
    0xff,
    0xc0,
    ...u16be(17),
    8,
    ...u16be(height),
    ...u16be(width),
    3,
    ...new Array<number>(9).fill(0),
    0xff,
    0xd9,
  ]);
}

export function gifBytes(width: number, height: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array([...ascii("GIF89a"), ...u16le(width), ...u16le(height), 0, 0, 0, 0x3b]);
}

/** A WebP of the given chunk kind: lossy (`VP8 `), lossless (`VP8L`) or extended (`VP8X`). */
export function webpBytes(kind: "VP8 " | "VP8L" | "VP8X", width: number, height: number): Uint8Array<ArrayBuffer> {
  let chunk: number[];
  if (kind === "VP8 ") chunk = [0, 0, 0, 0x9d, 0x01, 0x2a, ...u16le(width), ...u16le(height)];
  else if (kind === "VP8L") {
    const w = width - 1;
    const h = height - 1;
    chunk = [0x2f, w & 0xff, ((w >> 8) & 0x3f) | ((h & 0x03) << 6), (h >> 2) & 0xff, (h >> 10) & 0x0f];
  } else chunk = [0, 0, 0, 0, ...u24le(width - 1), ...u24le(height - 1)];
  const body = [...ascii("WEBP"), ...ascii(kind), ...u32be(chunk.length).reverse(), ...chunk, 0, 0, 0, 0];
  return new Uint8Array([...ascii("RIFF"), ...u32be(body.length).reverse(), ...body]);
}

export function pdfBytes(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new TextEncoder().encode("%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"));
}
