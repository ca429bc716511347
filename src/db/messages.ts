/**
 * @module db/messages
 * Chat messages in D1, shared by chat rooms and trip chat: the write-behind copy from a room's
 * outbox (idempotent on room and seq) and the read-back of history the room no longer keeps.
 */
import { and, desc, eq, getTableColumns, lt } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { Message } from "../protocol/common";
import { ServerMessageFrame } from "../protocol/frames";
import { messages } from "./schema";

/** An event as a room's log stored it: the exact text of the frame it broadcast. */
export type StoredFrame = { frame: string };

/** The message inside a stored `message` frame, or null for any other frame. */
export function messageOf(event: StoredFrame): Message | null {
  const parsed = ServerMessageFrame.safeParse(JSON.parse(event.frame));
  return parsed.success ? parsed.data.message : null;
}

/** D1 refuses a statement that binds more parameters than this. */
export const D1_MAX_BOUND_PARAMETERS = 100;
/** Message rows per INSERT: each binds one parameter per column. */
export const MESSAGE_ROWS_PER_INSERT = Math.floor(
  D1_MAX_BOUND_PARAMETERS / Object.keys(getTableColumns(messages)).length,
);

/**
 * The inserts of the messages among `events` (rows already there are left alone), for a batch:
 * several rows per statement, as many as D1's parameter limit allows, since a flush carries
 * every message a room stored in the last few seconds.
 */
export function messageInserts(db: DrizzleD1Database, events: readonly StoredFrame[]) {
  const rows = events.map(messageOf).filter((m): m is Message => m !== null);
  const inserts = [];
  for (let i = 0; i < rows.length; i += MESSAGE_ROWS_PER_INSERT) {
    inserts.push(
      db
        .insert(messages)
        .values(rows.slice(i, i + MESSAGE_ROWS_PER_INSERT))
        .onConflictDoNothing(),
    );
  }
  return inserts;
}

/** Inserts the messages among `events`, in one batch. */
export async function archiveMessages(d1: D1Database, events: readonly StoredFrame[]): Promise<void> {
  const db = drizzle(d1);
  const [first, ...rest] = messageInserts(db, events);
  if (first) await db.batch([first, ...rest]);
}

export async function archivedMessagesBefore(
  d1: D1Database,
  roomId: string,
  before: number,
  limit: number,
): Promise<Message[]> {
  return drizzle(d1)
    .select()
    .from(messages)
    .where(and(eq(messages.roomId, roomId), lt(messages.seq, before)))
    .orderBy(desc(messages.seq))
    .limit(limit);
}
