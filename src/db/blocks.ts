/**
 * @module db/blocks
 * Users' blocks in D1, the record: who blocked whom, and the pairs a room object must be told
 * of (rooms keep their own copy of the blocks between their members, for the message path).
 */
import { and, count, desc, eq, or, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { BlockedUser } from "../protocol/http";
import { roomMembers, userBlocks, users } from "./schema";

/** A block between two users: `blocker` hides `blocked`. */
export type BlockPair = { blocker: string; blocked: string };

/** Records a block; false when it was there already. */
export async function insertBlock(d1: D1Database, blocker: string, blocked: string, at: number): Promise<boolean> {
  const rows = await drizzle(d1)
    .insert(userBlocks)
    .values({ blockerId: blocker, blockedId: blocked, createdAt: at })
    .onConflictDoNothing()
    .returning({ blocked: userBlocks.blockedId });
  return rows.length > 0;
}

/** Lifts a block; false when there was none. */
export async function deleteBlock(d1: D1Database, blocker: string, blocked: string): Promise<boolean> {
  const rows = await drizzle(d1)
    .delete(userBlocks)
    .where(and(eq(userBlocks.blockerId, blocker), eq(userBlocks.blockedId, blocked)))
    .returning({ blocked: userBlocks.blockedId });
  return rows.length > 0;
}

export async function countBlocks(d1: D1Database, blocker: string): Promise<number> {
  const [row] = await drizzle(d1).select({ n: count() }).from(userBlocks).where(eq(userBlocks.blockerId, blocker));
  return row?.n ?? 0;
}

/** The block `blocker` holds on `blocked`, with the blocked user's name, or undefined. */
export async function findBlock(d1: D1Database, blocker: string, blocked: string): Promise<BlockedUser | undefined> {
  const [row] = await drizzle(d1)
    .select({ userId: userBlocks.blockedId, name: users.name, blockedAt: userBlocks.createdAt })
    .from(userBlocks)
    .innerJoin(users, eq(users.id, userBlocks.blockedId))
    .where(and(eq(userBlocks.blockerId, blocker), eq(userBlocks.blockedId, blocked)))
    .limit(1);
  return row;
}

/** The users `blocker` blocked, newest first. */
export async function listBlocks(d1: D1Database, blocker: string): Promise<BlockedUser[]> {
  return drizzle(d1)
    .select({ userId: userBlocks.blockedId, name: users.name, blockedAt: userBlocks.createdAt })
    .from(userBlocks)
    .innerJoin(users, eq(users.id, userBlocks.blockedId))
    .where(eq(userBlocks.blockerId, blocker))
    .orderBy(desc(userBlocks.createdAt), userBlocks.blockedId);
}

/** The blocks either way between two users. */
export async function blocksBetween(d1: D1Database, a: string, b: string): Promise<BlockPair[]> {
  return drizzle(d1)
    .select({ blocker: userBlocks.blockerId, blocked: userBlocks.blockedId })
    .from(userBlocks)
    .where(
      or(
        and(eq(userBlocks.blockerId, a), eq(userBlocks.blockedId, b)),
        and(eq(userBlocks.blockerId, b), eq(userBlocks.blockedId, a)),
      ),
    );
}

/**
 * The blocks, either way, between `userId` and the members of `roomId`: what the room must hold
 * once `userId` joins it.
 */
export async function blocksWithMembers(d1: D1Database, roomId: string, userId: string): Promise<BlockPair[]> {
  const { blockerId, blockedId } = userBlocks;
  const other = sql`CASE WHEN ${blockerId} = ${userId} THEN ${blockedId} ELSE ${blockerId} END`;
  return drizzle(d1)
    .select({ blocker: userBlocks.blockerId, blocked: userBlocks.blockedId })
    .from(userBlocks)
    .innerJoin(roomMembers, and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, other)))
    .where(or(eq(userBlocks.blockerId, userId), eq(userBlocks.blockedId, userId)));
}
