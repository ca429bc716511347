/**
 * @module ids
 * Server-chosen ids: users, sessions, rooms, quotes, trips, top-ups, devices and ledger
 * entries. Its own module because both the HTTP layer and db/ mint them, and neither should
 * import the other for it. (The client SDK mints its own, in packages/client/src/ids.ts.)
 */

/** `<prefix>_` and 20 random base-36 characters: opaque, short, and safe in a path segment. */
export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}_${[...bytes]
    .map((b) => b.toString(36).padStart(2, "0"))
    .join("")
    .slice(0, 20)}`;
}
