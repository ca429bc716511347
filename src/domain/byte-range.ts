/**
 * @module domain/byte-range
 * The one `Range: bytes=…` form a tile archive read may use (RFC 9110, 14.1.2): a single range,
 * `first-last`, `first-` or `-suffix`, checked against the object's size. Several ranges in one
 * request, other units and malformed headers are refused rather than ignored: ignoring them
 * would answer the whole archive, which for a real extract is gigabytes.
 */

/** What to read: `length` bytes from `offset`, both within the object. */
export type ByteRange = { offset: number; length: number };

/**
 * The range `header` asks for in an object of `size` bytes: null when there is no header (the whole
 * object), `"unsatisfiable"` when it cannot be served (answer 416, with a `Content-Range` that names the size).
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | null | "unsatisfiable" {
  if (header === undefined) return null;
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!match) return "unsatisfiable";
  const [, first, last] = match;
  if (first === "" && last === "") return "unsatisfiable";
  if (first === "") {
    // A suffix: the last N bytes (all of them when N exceeds the size).
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const offset = Number(first);
  if (offset >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < offset) return "unsatisfiable";
  return { offset, length: end - offset + 1 };
}
