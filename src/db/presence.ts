/**
 * @module db/presence
 * Last seen and who may read it, on the users row (`last_seen_at`, `last_seen_visibility`).
 * Written by the room objects when connections open and close (rooms/last-seen.ts), read by
 * `GET /v1/users/:id/presence` through the owner's setting.
 */
import { and, eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { drizzle } from "drizzle-orm/d1";
import type { LastSeenVisibility } from "../protocol/http";
import { roomMembers, rooms, userBlocks, users } from "./schema";

/** Moves `userId`'s last seen to `at`, never back (two rooms may write out of order). */
export async function noteLastSeen(d1: D1Database, userId: string, at: number): Promise<void> {
  await drizzle(d1)
    .update(users)
    .set({ lastSeenAt: sql`max(coalesce(${users.lastSeenAt}, 0), ${at})` })
    .where(eq(users.id, userId));
}

export async function lastSeenVisibilityOf(d1: D1Database, userId: string): Promise<LastSeenVisibility | undefined> {
  const [row] = await drizzle(d1)
    .select({ visibility: users.lastSeenVisibility })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  return row?.visibility;
}

export async function setLastSeenVisibility(
  d1: D1Database,
  userId: string,
  visibility: LastSeenVisibility,
): Promise<void> {
  await drizzle(d1).update(users).set({ lastSeenVisibility: visibility }).where(eq(users.id, userId));
}

/**
 * What `viewer` may know of `target`'s last seen, in one round trip: the target's time and
 * setting, whether the target blocks the viewer, and whether the two are contacts (they share a
 * direct conversation). Undefined when there is no such user.
 */
export async function lastSeenFacts(
  d1: D1Database,
  viewer: string,
  target: string,
): Promise<
  { lastSeenAt: number | null; visibility: LastSeenVisibility; blocksViewer: boolean; contact: boolean } | undefined
> {
  const other = alias(roomMembers, "other");
  const db = drizzle(d1);
  const [row] = await db
    .select({
      lastSeenAt: users.lastSeenAt,
      visibility: users.lastSeenVisibility,
      blocksViewer: sql<number>`exists (${db
        .select({ one: sql`1` })
        .from(userBlocks)
        .where(and(eq(userBlocks.blockerId, target), eq(userBlocks.blockedId, viewer)))})`,
      contact: sql<number>`exists (${db
        .select({ one: sql`1` })
        .from(roomMembers)
        .innerJoin(rooms, and(eq(rooms.id, roomMembers.roomId), eq(rooms.kind, "direct")))
        .innerJoin(other, and(eq(other.roomId, roomMembers.roomId), eq(other.userId, viewer)))
        .where(eq(roomMembers.userId, target))})`,
    })
    .from(users)
    .where(eq(users.id, target))
    .limit(1);
  if (!row) return undefined;
  return {
    lastSeenAt: row.lastSeenAt,
    visibility: row.visibility,
    blocksViewer: Boolean(row.blocksViewer),
    contact: Boolean(row.contact),
  };
}
