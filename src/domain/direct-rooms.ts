/**
 * @module domain/direct-rooms
 * The id of the direct conversation of two users: derived from the pair, in either order, so
 * that finding it needs no lookup and two calls at once name the same room (the room object
 * and D1's insert make it once). Anyone who knows both user ids can compute it; the routes
 * answer a non-member 404 for a direct room, as for a room that does not exist.
 */

/** `dm_` and 40 hex digits of SHA-256 over the two ids, sorted: 43 characters, safe in a path. */
export async function directRoomId(a: string, b: string): Promise<string> {
  const [low, high] = a < b ? [a, b] : [b, a];
  // JSON keeps the pair unambiguous whatever the ids hold: ("a\nb", "c") is not ("a", "b\nc").
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(["direct", low, high])));
  const hex = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `dm_${hex.slice(0, 40)}`;
}
