/**
 * @module client/ids
 * Client-chosen ids: frame ids and `Idempotency-Key`s.
 */

/** A random id; `crypto.randomUUID` is missing in insecure browser contexts, so there is a fallback. */
export function newId(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}
