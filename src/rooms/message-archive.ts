/**
 * @module rooms/message-archive
 * Chat messages in D1, shared by chat rooms and trip chat: the write-behind copy from a room's
 * outbox (idempotent on room and seq) and the read-back of history the room no longer keeps.
 */
import { and, desc, eq, lt } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { messages } from "../db/schema";
import type { Message } from "../protocol/common";
import { ServerMessageFrame } from "../protocol/frames";
import type { StoredEvent } from "./event-log";

/** The message inside a stored `message` frame, or null for any other frame. */
export function messageOf(event: StoredEvent): Message | null {
  const parsed = ServerMessageFrame.safeParse(JSON.parse(event.frame));
  return parsed.success ? parsed.data.message : null;
}

/** The inserts of the messages among `events` (rows already there are left alone), for a batch. */
export function messageInserts(db: DrizzleD1Database, events: StoredEvent[]) {
  return events
    .map(messageOf)
    .filter((m): m is Message => m !== null)
    .map((row) => db.insert(messages).values(row).onConflictDoNothing());
}

/** Inserts the messages among `events`, in one batch. */
export async function archiveMessages(d1: D1Database, events: StoredEvent[]): Promise<void> {
  const db = drizzle(d1);
  const [first, ...rest] = messageInserts(db, events);
  if (first) await db.batch([first, ...rest]);
}

export async function archivedMessagesBefore(d1: D1Database, roomId: string, before: number, limit: number): Promise<Message[]> {
  return drizzle(d1)
    .select()
    .from(messages)
    .where(and(eq(messages.roomId, roomId), lt(messages.seq, before)))
    .orderBy(desc(messages.seq))
    .limit(limit);
}
