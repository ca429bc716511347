/**
 * @module auth/refresh-token
 * Refresh tokens: 32 random bytes in base64url, given to the client once. Only their SHA-256
 * is stored, so a read of the database hands out no working token; a random 256-bit secret
 * needs no salt or slow hash (nothing to guess), unlike a password.
 */
import { toBase64Url, utf8 } from "./encoding";

const TOKEN_BYTES = 32;

export function newRefreshToken(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

export async function hashRefreshToken(token: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(token))));
}
