/**
 * @module db/rooms
 * The room list and memberships in D1. Each room object keeps a copy of its members for the
 * hot path; every change is written here first, then told to the object.
 */
import { and, count, desc, eq, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { MemberRole, Room } from "../protocol/common";
import { roomBans, roomMembers, rooms, users } from "./schema";

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

/** Public rooms and the private rooms the user belongs to, newest first. */
export async function listVisibleRooms(d1: D1Database, userId: string, limit: number): Promise<Room[]> {
  return drizzle(d1)
    .selectDistinct({
      id: rooms.id,
      name: rooms.name,
      private: rooms.private,
      createdBy: rooms.createdBy,
      createdAt: rooms.createdAt,
    })
    .from(rooms)
    .leftJoin(roomMembers, and(eq(roomMembers.roomId, rooms.id), eq(roomMembers.userId, userId)))
    .where(or(eq(rooms.private, false), eq(roomMembers.userId, userId)))
    .orderBy(desc(rooms.createdAt))
    .limit(limit);
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
