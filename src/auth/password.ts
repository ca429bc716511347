/**
 * @module auth/password
 * Password hashing with PBKDF2-HMAC-SHA256 through WebCrypto. 100,000 iterations is the most
 * the Workers runtime allows. The stored string names the algorithm and the iteration count,
 * so a later change of either can still verify old hashes:
 *   pbkdf2-sha256$100000$<salt base64url>$<hash base64url>
 */
import { fromBase64Url, toBase64Url, timingSafeEqual } from "./encoding";

export const PBKDF2_ITERATIONS = 100_000;
const ALGORITHM = "pbkdf2-sha256";
const SALT_BYTES = 16;
const HASH_BYTES = 32;

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    HASH_BYTES * 8,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, PBKDF2_ITERATIONS);
  return [ALGORITHM, PBKDF2_ITERATIONS, toBase64Url(salt), toBase64Url(hash)].join("$");
}

/** False for a wrong password and for any stored string that is not exactly the format above. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 4) return false;
  const [algorithm, iterationText = "", saltText, hashText] = parts;
  // Digits only: Number() alone would also accept "1e5", " 100000" or "0x186a0".
  if (algorithm !== ALGORITHM || !/^[1-9][0-9]{0,5}$/.test(iterationText) || !saltText || !hashText) return false;
  const iterations = Number(iterationText);
  // Workers refuses to derive past 100,000 (and Node would grind through any count), so a
  // larger count in a stored string is a mismatch rather than an exception or a stall.
  if (iterations > PBKDF2_ITERATIONS) return false;
  try {
    const expected = fromBase64Url(hashText);
    const actual = await derive(password, fromBase64Url(saltText), iterations);
    return timingSafeEqual(actual, expected);
  } catch {
    // Salt or hash not valid base64url: a corrupted or tampered row, not a server error.
    return false;
  }
}

/** Parses the stored format; used by tests and by a future re-hash on login. */
export function describeHash(stored: string): { algorithm: string; iterations: number } {
  const [algorithm = "", iterations = "0"] = stored.split("$");
  return { algorithm, iterations: Number(iterations) };
}

/**
 * A hash of a random password, verified against when the email is unknown, so that a login
 * for a missing account costs the same time as one for an existing account.
 */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(crypto.randomUUID());
  return decoyHash;
}
