/**
 * @module auth/phone-code
 * The six-digit codes that prove a phone number: drawn uniformly (no modulo bias) from
 * WebCrypto, and stored only as an HMAC under the service's secret, bound to the row it belongs
 * to. A plain hash of six digits falls to a million guesses offline; the HMAC needs the secret,
 * which a copy of the database does not hold.
 */
import { toBase64Url, utf8 } from "./encoding";

export const PHONE_CODE_DIGITS = 6;
const RANGE = 10 ** PHONE_CODE_DIGITS;
// The largest multiple of RANGE below 2^32: a draw at or above it is drawn again.
const LIMIT = Math.floor(2 ** 32 / RANGE) * RANGE;

export function newPhoneCode(): string {
  const draw = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(draw);
    const value = draw[0] ?? LIMIT;
    if (value < LIMIT) return String(value % RANGE).padStart(PHONE_CODE_DIGITS, "0");
  }
}

/** HMAC-SHA256 of `codeId:code` under `secret`, base64url: the same code of another row hashes apart. */
export async function hashPhoneCode(secret: string, codeId: string, code: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8(`${codeId}:${code}`))));
}
