/**
 * @module auth/api-key
 * The secret of a server API key: `rwk_<key id>_<secret>`, where the secret is 32 random bytes
 * (base64url). The key id in it finds the row without a scan; the row keeps only the SHA-256 of
 * the whole string. A fast hash is enough here, unlike for passwords: 256 random bits cannot be
 * guessed from their hash, so there is nothing for a slow hash to slow down. Plain Web APIs, so
 * this runs in Workers and Node alike.
 */
import { toBase64Url, timingSafeEqual, utf8 } from "./encoding";
import { newId } from "../ids";

/** `key_` and 20 base-36 characters (ids.ts), then 43 base64url characters. */
const KEY_FORMAT = /^rwk_(key_[a-z0-9]{20})_([A-Za-z0-9_-]{43})$/;

/** A new key id and its secret (shown once), with the hash to store. */
export async function mintApiKey(): Promise<{ id: string; secret: string; secretHash: string }> {
  const id = newId("key");
  const secret = `rwk_${id}_${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`;
  return { id, secret, secretHash: await hashApiKey(secret) };
}

/** The key id a presented secret names, or null when it is not shaped as one of ours. */
export function apiKeyIdOf(presented: string): string | null {
  return KEY_FORMAT.exec(presented)?.[1] ?? null;
}

export async function hashApiKey(secret: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(secret)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether `presented` hashes to `storedHash`, compared in constant time. */
export async function apiKeyMatches(presented: string, storedHash: string): Promise<boolean> {
  return timingSafeEqual(utf8(await hashApiKey(presented)), utf8(storedHash));
}
