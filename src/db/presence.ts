/**
 * @module db/presence
 * Last seen and who may read it, on the users row (`last_seen_at`, `last_seen_visibility`).
 * Written by the room objects when connections open and close (rooms/last-seen.ts), read by
 * `GET /v1/users/:id/presence` through the owner's setting.
 */
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { LastSeenVisibility } from "../protocol/http";
import { users } from "./schema";

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
  const row = await d1
    .prepare(
      `SELECT u.last_seen_at AS lastSeenAt, u.last_seen_visibility AS visibility,
         EXISTS (SELECT 1 FROM user_blocks b WHERE b.blocker_id = u.id AND b.blocked_id = ?1) AS blocksViewer,
         EXISTS (SELECT 1 FROM room_members mine
                 JOIN rooms r ON r.id = mine.room_id AND r.kind = 'direct'
                 JOIN room_members theirs ON theirs.room_id = mine.room_id AND theirs.user_id = ?1
                 WHERE mine.user_id = u.id) AS contact
       FROM users u WHERE u.id = ?2`,
    )
    .bind(viewer, target)
    .first<{ lastSeenAt: number | null; visibility: string; blocksViewer: number; contact: number }>();
  if (!row) return undefined;
  const visibility = LastSeenVisibility.safeParse(row.visibility);
  return {
    lastSeenAt: row.lastSeenAt,
    // A value the schema does not know (written by hand) is read as the most private one.
    visibility: visibility.success ? visibility.data : "nobody",
    blocksViewer: row.blocksViewer === 1,
    contact: row.contact === 1,
  };
}
