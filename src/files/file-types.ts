/**
 * @module files/file-types
 * What an uploaded file's first bytes say it is. A client declares a type when it asks for an
 * upload URL; the bytes it then sends must carry that type's signature (PNG, JPEG, GIF, WebP,
 * PDF), or for plain text be UTF-8 with no NUL byte, so that nobody stores, say, an HTML page
 * or a program under `image/png`. Images also give their width and height here, read from the
 * header (PNG IHDR, a JPEG SOF segment, GIF's logical screen, WebP's VP8/VP8L/VP8X chunk): the
 * message carries them so that a client lays out the image before it loads. Pure code: the unit
 * tests run it in Node.
 */
import type { AttachmentContentType } from "../protocol/attachments";

/** How much of a file's start the checks read: a JPEG's SOF may follow EXIF data up to 64 KiB and more. */
export const FILE_HEAD_BYTES = 256 * 1024;

/** The widest or tallest image taken, in pixels (a header claiming more is not a real photo). */
export const MAX_IMAGE_SIDE = 65_535;

export type FileTypeVerdict = { ok: true; width?: number; height?: number } | { ok: false; reason: string };

type Dimensions = { width: number; height: number };

const startsWith = (head: Uint8Array, bytes: readonly number[], at = 0) =>
  head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);

const ascii = (text: string) => [...text].map((ch) => ch.charCodeAt(0));

const u16be = (h: Uint8Array, at: number) => ((h[at] ?? 0) << 8) | (h[at + 1] ?? 0);
const u16le = (h: Uint8Array, at: number) => (h[at] ?? 0) | ((h[at + 1] ?? 0) << 8);
const u24le = (h: Uint8Array, at: number) => u16le(h, at) | ((h[at + 2] ?? 0) << 16);
const u32be = (h: Uint8Array, at: number) => ((u16be(h, at) << 16) >>> 0) + u16be(h, at + 2);

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(head: Uint8Array): Dimensions | null {
  // The first chunk must be IHDR: length (4), "IHDR", width (4, big-endian), height (4).
  if (!startsWith(head, PNG_SIGNATURE) || !startsWith(head, ascii("IHDR"), 12) || head.length < 24) return null;
  return { width: u32be(head, 16), height: u32be(head, 20) };
}

function gifSize(head: Uint8Array): Dimensions | null {
  if (!(startsWith(head, ascii("GIF87a")) || startsWith(head, ascii("GIF89a"))) || head.length < 10) return null;
  return { width: u16le(head, 6), height: u16le(head, 8) };
}

/** Start-of-frame markers (baseline, progressive, lossless, arithmetic): C0–CF but DHT, JPG and DAC. */
const isStartOfFrame = (marker: number) =>
  marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

function jpegSize(head: Uint8Array): Dimensions | null {
  if (!startsWith(head, [0xff, 0xd8, 0xff])) return null;
  let at = 2;
  while (at + 4 <= head.length) {
    if (head[at] !== 0xff) return null;
    const marker = head[at + 1] ?? 0;
    // Fill bytes (FF FF …) pad between segments.
    if (marker === 0xff) {
      at += 1;
      continue;
    }
    // Markers with no length: TEM and RST0–7; SOS starts entropy-coded data before any frame header.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return null;
    const length = u16be(head, at + 2);
    if (length < 2) return null;
    if (isStartOfFrame(marker)) {
      if (at + 9 > head.length) return null;
      // Segment: length (2), precision (1), height (2), width (2).
      return { height: u16be(head, at + 5), width: u16be(head, at + 7) };
    }
    at += 2 + length;
  }
  return null;
}

function webpSize(head: Uint8Array): Dimensions | null {
  if (!startsWith(head, ascii("RIFF")) || !startsWith(head, ascii("WEBP"), 8)) return null;
  if (startsWith(head, ascii("VP8 "), 12)) {
    if (head.length < 30) return null;
    // A lossy key frame: its start code 9D 01 2A, then 14-bit width and height.
    if (!startsWith(head, [0x9d, 0x01, 0x2a], 23)) return null;
    return { width: u16le(head, 26) & 0x3fff, height: u16le(head, 28) & 0x3fff };
  }
  if (startsWith(head, ascii("VP8L"), 12)) {
    // Lossless: signature 0x2F, then width-1 and height-1 in 14 bits each, little-endian bit order.
    if (head.length < 25 || head[20] !== 0x2f) return null;
    const b1 = head[21] ?? 0;
    const b2 = head[22] ?? 0;
    const b3 = head[23] ?? 0;
    const b4 = head[24] ?? 0;
    return { width: 1 + (b1 | ((b2 & 0x3f) << 8)), height: 1 + ((b2 >> 6) | (b3 << 2) | ((b4 & 0x0f) << 10)) };
  }
  if (startsWith(head, ascii("VP8X"), 12)) {
    // Extended: the canvas's width-1 and height-1, 24 bits each.
    if (head.length < 30) return null;
    return { width: 1 + u24le(head, 24), height: 1 + u24le(head, 27) };
  }
  return null;
}

const IMAGE_SIZES: Partial<Record<AttachmentContentType, (head: Uint8Array) => Dimensions | null>> = {
  "image/png": pngSize,
  "image/jpeg": jpegSize,
  "image/gif": gifSize,
  "image/webp": webpSize,
};

/** Plain text: UTF-8 (a character cut at the end of the head is fine) with no NUL byte. */
function isPlainText(head: Uint8Array): boolean {
  if (head.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `head` (the first FILE_HEAD_BYTES of a file, or all of a smaller one) is a file of
 * `contentType`, with an image's dimensions.
 */
export function checkFileType(contentType: AttachmentContentType, head: Uint8Array): FileTypeVerdict {
  const imageSize = IMAGE_SIZES[contentType];
  if (imageSize) {
    const size = imageSize(head);
    if (!size) return { ok: false, reason: `the file is not a readable ${contentType} image` };
    if (size.width < 1 || size.height < 1 || size.width > MAX_IMAGE_SIDE || size.height > MAX_IMAGE_SIDE)
      return { ok: false, reason: `the image's dimensions (${size.width}x${size.height}) are out of range` };
    return { ok: true, ...size };
  }
  if (contentType === "application/pdf")
    return startsWith(head, ascii("%PDF-")) ? { ok: true } : { ok: false, reason: "the file is not a PDF" };
  return isPlainText(head) ? { ok: true } : { ok: false, reason: "the file is not UTF-8 text" };
}
