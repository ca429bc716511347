/**
 * @module db/rooms
 * The room list and memberships in D1. Each room object keeps a copy of its members for the
 * hot path; every change is written here first, then told to the object.
 */
import { and, count, desc, eq, or } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { drizzle } from "drizzle-orm/d1";
import type { MemberRole, Room } from "../protocol/common";
import { type RoomListItem, UNREAD_COUNT_CAP } from "../protocol/http";
import { unreadInShard, unreadSeqsInShard } from "./messages";
import { readMarksIn } from "./read-marks";
import { roomBans, roomMembers, rooms, userBlocks, users } from "./schema";
import { earlierShardDatabase, groupByShard, shardHomes } from "./shards";

export async function insertRoom(d1: D1Database, room: Room): Promise<void> {
  const db = drizzle(d1);
  await db.batch([
    db.insert(rooms).values(room).onConflictDoNothing(),
    db
      .insert(roomMembers)
      .values({ roomId: room.id, userId: room.createdBy, joinedAt: room.createdAt, role: "owner" })
      .onConflictDoNothing(),
  ]);
}

/**
 * Stores a direct conversation and its two members (neither an owner: nobody moderates a
 * conversation of two), in one batch. True when this call stored the room, false when it was
 * there already: of two calls at once, exactly one is first.
 */
export async function insertDirectRoom(d1: D1Database, room: Room, peer: string): Promise<boolean> {
  const db = drizzle(d1);
  const member = (userId: string) => ({ roomId: room.id, userId, joinedAt: room.createdAt, role: "member" as const });
  const [inserted] = await db.batch([
    db.insert(rooms).values(room).onConflictDoNothing().returning({ id: rooms.id }),
    db
      .insert(roomMembers)
      .values([member(room.createdBy), member(peer)])
      .onConflictDoNothing(),
  ]);
  return inserted.length > 0;
}

export async function findRoom(d1: D1Database, id: string): Promise<Room | undefined> {
  const [row] = await drizzle(d1).select().from(rooms).where(eq(rooms.id, id)).limit(1);
  return row;
}

export async function isRoomMember(d1: D1Database, roomId: string, userId: string): Promise<boolean> {
  const rows = await drizzle(d1)
    .select({ userId: roomMembers.userId })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .limit(1);
  return rows.length > 0;
}

/** The user's role in the room, or null when not a member. */
export async function memberRole(d1: D1Database, roomId: string, userId: string): Promise<MemberRole | null> {
  const [row] = await drizzle(d1)
    .select({ role: roomMembers.role })
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .limit(1);
  return row?.role ?? null;
}

export async function countRoomMembers(d1: D1Database, roomId: string): Promise<number> {
  const [row] = await drizzle(d1).select({ n: count() }).from(roomMembers).where(eq(roomMembers.roomId, roomId));
  return row?.n ?? 0;
}

export async function isBannedFromRoom(d1: D1Database, roomId: string, userId: string): Promise<boolean> {
  const rows = await drizzle(d1)
    .select({ userId: roomBans.userId })
    .from(roomBans)
    .where(and(eq(roomBans.roomId, roomId), eq(roomBans.userId, userId)))
    .limit(1);
  return rows.length > 0;
}

export async function removeRoomMember(d1: D1Database, roomId: string, userId: string): Promise<void> {
  await drizzle(d1)
    .delete(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
}

export async function setRoomMemberRole(
  d1: D1Database,
  roomId: string,
  userId: string,
  role: MemberRole,
): Promise<void> {
  await drizzle(d1)
    .update(roomMembers)
    .set({ role })
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)));
}

/** The owner hands the room to another member, in one batch: the old owner becomes an admin. */
export async function transferRoomOwnership(d1: D1Database, roomId: string, from: string, to: string): Promise<void> {
  const db = drizzle(d1);
  await db.batch([
    db
      .update(roomMembers)
      .set({ role: "admin" })
      .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, from))),
    db
      .update(roomMembers)
      .set({ role: "owner" })
      .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, to))),
  ]);
}

/** Bans a user from the room and removes them from it, in one batch; banning again changes nothing. */
export async function banFromRoom(
  d1: D1Database,
  roomId: string,
  userId: string,
  by: string,
  at: number,
): Promise<void> {
  const db = drizzle(d1);
  await db.batch([
    db.insert(roomBans).values({ roomId, userId, bannedBy: by, bannedAt: at }).onConflictDoNothing(),
    db.delete(roomMembers).where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId))),
  ]);
}

/** Lifts a ban; true when there was one. */
export async function unbanFromRoom(d1: D1Database, roomId: string, userId: string): Promise<boolean> {
  const rows = await drizzle(d1)
    .delete(roomBans)
    .where(and(eq(roomBans.roomId, roomId), eq(roomBans.userId, userId)))
    .returning({ userId: roomBans.userId });
  return rows.length > 0;
}

export async function addRoomMember(d1: D1Database, roomId: string, userId: string, joinedAt: number): Promise<void> {
  await drizzle(d1).insert(roomMembers).values({ roomId, userId, joinedAt }).onConflictDoNothing();
}

/** A room the user is a member of and how far they read it, as `DB` has it (from before db/read-marks). */
type ReadPosition = { roomId: string; readSeq: number };

/**
 * The messages of each room a member has not read, as the chat shards have them (the copy behind
 * the room, a few seconds late): after their read mark, posted by others, not deleted, from nobody
 * they block; each at most UNREAD_COUNT_CAP. The memberships and blocks are the directory
 * database's; the messages and the marks each room's shard's (a mark `DB` still holds from before
 * counts where it is higher): one query per shard that holds any of the rooms.
 */
async function unreadCounts(env: Env, userId: string, positions: ReadPosition[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (positions.length === 0) return counts;
  const blocked = (
    await drizzle(env.DB).select({ id: userBlocks.blockedId }).from(userBlocks).where(eq(userBlocks.blockerId, userId))
  ).map((row) => row.id);
  // Rooms whose bucket a shard move is taking elsewhere (SHARD_MAP_PREVIOUS) are counted apart.
  const moving: ReadPosition[] = [];
  const settled: ReadPosition[] = [];
  for (const p of positions) (earlierShardDatabase(env, "chat", p.roomId) ? moving : settled).push(p);
  const groups = groupByShard(env, "chat", settled, (p) => p.roomId);
  const [answers] = await Promise.all([
    Promise.all(
      groups.map(({ db, items }) =>
        unreadInShard(
          db,
          userId,
          items.map(({ item }) => item),
          blocked,
          UNREAD_COUNT_CAP,
        ),
      ),
    ),
    unreadWhileMoving(env, userId, moving, blocked, counts),
  ]);
  for (const answer of answers) for (const [roomId, n] of answer) counts.set(roomId, n);
  return counts;
}

/**
 * Unread counts of rooms in a bucket that a shard move is copying: their messages are in the new
 * shard, the old one, or both until the copy's source is deleted, so each counts the union of the
 * seqs the two have (each read at most UNREAD_COUNT_CAP), into `counts`.
 */
async function unreadWhileMoving(
  env: Env,
  userId: string,
  positions: ReadPosition[],
  blocked: string[],
  counts: Map<string, number>,
): Promise<void> {
  if (positions.length === 0) return;
  // One query per database, for the rooms it is a home of (new or previous).
  const byHome = new Map<D1Database, ReadPosition[]>();
  for (const p of positions)
    for (const db of shardHomes(env, "chat", p.roomId)) byHome.set(db, [...(byHome.get(db) ?? []), p]);
  // A room's newest mark may be in either home (its copy goes to the new one, the move brings the old
  // one's over): each home counts from the highest of them, or the old one would count what was read.
  const marks = await Promise.all(
    [...byHome].map(([db, rooms]) =>
      readMarksIn(
        db,
        userId,
        rooms.map((p) => p.roomId),
      ),
    ),
  );
  const highest = new Map<string, number>();
  for (const found of marks)
    for (const [roomId, seq] of found) highest.set(roomId, Math.max(highest.get(roomId) ?? 0, seq));
  const raised = (p: ReadPosition) => ({ ...p, readSeq: Math.max(p.readSeq, highest.get(p.roomId) ?? 0) });
  const asked = [...byHome].map(([db, rooms]) =>
    unreadSeqsInShard(db, userId, rooms.map(raised), blocked, UNREAD_COUNT_CAP),
  );
  const union = new Map<string, Set<number>>();
  for (const answer of await Promise.all(asked))
    for (const [roomId, seqs] of answer) {
      const seen = union.get(roomId) ?? new Set<number>();
      for (const seq of seqs) seen.add(seq);
      union.set(roomId, seen);
    }
  for (const [roomId, seqs] of union) counts.set(roomId, Math.min(seqs.size, UNREAD_COUNT_CAP));
}

/**
 * Public rooms and the private rooms the user belongs to, newest first, each with its unread
 * count when the user is a member.
 */
export async function listVisibleRooms(env: Env, userId: string, limit: number): Promise<RoomListItem[]> {
  const rows = await drizzle(env.DB)
    .select({
      id: rooms.id,
      name: rooms.name,
      private: rooms.private,
      kind: rooms.kind,
      createdBy: rooms.createdBy,
      createdAt: rooms.createdAt,
      member: roomMembers.userId,
      readSeq: roomMembers.readSeq,
    })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, userId)))
    .where(or(eq(rooms.private, false), eq(roomMembers.userId, userId)))
    .orderBy(desc(rooms.createdAt))
    .limit(limit);
  const unread = await unreadCounts(
    env,
    userId,
    rows.flatMap((r) => (r.member === null ? [] : [{ roomId: r.id, readSeq: r.readSeq ?? 0 }])),
  );
  return rows.map(({ member, readSeq: _readSeq, ...room }) =>
    member === null ? room : { ...room, unread: unread.get(room.id) ?? 0 },
  );
}

/** The unread messages of every room the user is a member of: the app's badge. */
export async function unreadTotal(env: Env, userId: string): Promise<number> {
  const positions = await drizzle(env.DB)
    .select({ roomId: roomMembers.roomId, readSeq: roomMembers.readSeq })
    .from(roomMembers)
    .where(eq(roomMembers.userId, userId));
  let total = 0;
  for (const n of (await unreadCounts(env, userId, positions)).values()) total += n;
  return total;
}

/** The rooms both users are members of (their direct conversation among them). */
export async function sharedRooms(d1: D1Database, a: string, b: string): Promise<string[]> {
  const other = alias(roomMembers, "other");
  const rows = await drizzle(d1)
    .select({ roomId: roomMembers.roomId })
    .from(roomMembers)
    .innerJoin(other, and(eq(other.roomId, roomMembers.roomId), eq(other.userId, b)))
    .where(eq(roomMembers.userId, a));
  return rows.map((r) => r.roomId);
}

/** The members of a room with their display names, in the order they joined. */
export async function roomMembersWithNames(
  d1: D1Database,
  roomId: string,
): Promise<{ userId: string; name: string; joinedAt: number; role: MemberRole }[]> {
  return drizzle(d1)
    .select({ userId: roomMembers.userId, name: users.name, joinedAt: roomMembers.joinedAt, role: roomMembers.role })
    .from(roomMembers)
    .innerJoin(users, eq(users.id, roomMembers.userId))
    .where(eq(roomMembers.roomId, roomId))
    .orderBy(roomMembers.joinedAt, roomMembers.userId);
}
