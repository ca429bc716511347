/**
 * @module db/presence
 * Last seen and who may read it. The time is in the user's partition database (`last_seen`,
 * db/shards kind "sessions", keyed by user id): it is written whenever a user's presence in a room
 * changes, the directory's busiest write once sessions moved (docs/DATA-LAYOUT.md). Who may read
 * it (`users.last_seen_visibility`), blocks and contacts stay in `DB`. Written by the room objects
 * when connections open and close (rooms/last-seen.ts), read by `GET /v1/users/:id/presence`
 * through the owner's setting and by the operators' driver list.
 */
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { LastSeenVisibility } from "../protocol/http";
import { users } from "./schema";
import { shardDatabase, shardHomes } from "./shards";

/** Moves `userId`'s last seen to `at`, never back (two rooms may write out of order). */
export async function noteLastSeen(env: Env, userId: string, at: number): Promise<void> {
  await shardDatabase(env, "sessions", userId)
    .prepare(
      `INSERT INTO last_seen (user_id, at) VALUES (?1, ?2)
       ON CONFLICT (user_id) DO UPDATE SET at = max(at, excluded.at)`,
    )
    .bind(userId, at)
    .run();
}

/** The later of two last-seen times, either of which may be missing. */
const later = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * `userId`'s last seen in their partition: their shard and, while a shard move runs, the one
 * before it. Null when they have written none there.
 */
async function partitionLastSeen(env: Env, userId: string): Promise<number | null> {
  const rows = await Promise.all(
    shardHomes(env, "sessions", userId).map((d1) =>
      d1.prepare(`SELECT at FROM last_seen WHERE user_id = ?1`).bind(userId).first<{ at: number }>(),
    ),
  );
  return rows.reduce<number | null>((max, row) => later(max, row?.at ?? null), null);
}

/**
 * Overlays the partitions' last seen on rows read from `DB` (whose `lastSeenAt` is the value from
 * before the partitions): one statement per shard the rows' users are in.
 */
export async function withLastSeen<T extends { id: string; lastSeenAt: number | null }>(
  env: Env,
  rows: T[],
): Promise<T[]> {
  if (rows.length === 0) return rows;
  const seen = new Map<string, number>();
  // Each shard the users are in (and while a move runs, the ones they were in), asked once.
  const homes = new Set<D1Database>();
  for (const row of rows) for (const d1 of shardHomes(env, "sessions", row.id)) homes.add(d1);
  await Promise.all(
    [...homes].map(async (d1) => {
      const { results } = await d1
        .prepare(`SELECT user_id, at FROM last_seen WHERE user_id IN (SELECT value FROM json_each(?1))`)
        .bind(JSON.stringify(rows.map((r) => r.id)))
        .all<{ user_id: string; at: number }>();
      for (const r of results) seen.set(r.user_id, Math.max(seen.get(r.user_id) ?? 0, r.at));
    }),
  );
  return rows.map((row) => ({ ...row, lastSeenAt: later(row.lastSeenAt, seen.get(row.id) ?? null) }));
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
 * What `viewer` may know of `target`'s last seen, in one round trip's wait (`DB` and the target's
 * partition are asked at once): the target's time and
 * setting, whether the target blocks the viewer, and whether the two are contacts (they share a
 * direct conversation). Undefined when there is no such user.
 */
export async function lastSeenFacts(
  env: Env,
  viewer: string,
  target: string,
): Promise<
  { lastSeenAt: number | null; visibility: LastSeenVisibility; blocksViewer: boolean; contact: boolean } | undefined
> {
  const facts = env.DB.prepare(
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
  // The two databases are asked at once: one round trip's wait.
  const [row, partition] = await Promise.all([facts, partitionLastSeen(env, target)]);
  if (!row) return undefined;
  const visibility = LastSeenVisibility.safeParse(row.visibility);
  return {
    lastSeenAt: later(row.lastSeenAt, partition),
    // A value the schema does not know (written by hand) is read as the most private one.
    visibility: visibility.success ? visibility.data : "nobody",
    blocksViewer: row.blocksViewer === 1,
    contact: row.contact === 1,
  };
}
