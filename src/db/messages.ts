/**
 * @module db/messages
 * Chat messages in D1, shared by chat rooms and trip chat: the write-behind copy from a room's
 * outbox (idempotent on room and seq) with the edits, deletes and reactions applied to it, and
 * the read-back of history the room no longer keeps.
 */
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import type { BatchItem } from "drizzle-orm/batch";
import type { ChatMessage, Message } from "../protocol/common";
import { ServerChangeFrame, ServerMessageFrame } from "../protocol/frames";
import { messageReactions, messages } from "./schema";

/** An event as a room's log stored it: the exact text of the frame it broadcast. */
export type StoredFrame = { frame: string };

/** The message inside a stored `message` frame, or null for any other frame. */
export function messageOf(event: StoredFrame): Message | null {
  const parsed = ServerMessageFrame.safeParse(JSON.parse(event.frame));
  return parsed.success ? parsed.data.message : null;
}

/** D1 refuses a statement that binds more parameters than this. */
export const D1_MAX_BOUND_PARAMETERS = 100;
/**
 * The parameters one message row binds: its six columns, and `reply_to` for a reply (a column
 * left out is written as a literal null, which binds nothing).
 */
const paramsOf = (message: Message) => (message.replyTo === undefined ? 6 : 7);
/** Rows per INSERT for ordinary messages; replies take a parameter more each. */
export const MESSAGE_ROWS_PER_INSERT = Math.floor(D1_MAX_BOUND_PARAMETERS / 6);

const CHANGE_TYPES = new Set(["edit", "delete", "reaction"]);

/** One statement of the copy: a batch item that also renders its SQL (the unit tests read it). */
export type ArchiveStatement = BatchItem<"sqlite"> & { toSQL(): { sql: string; params: unknown[] } };

/**
 * The statements that copy `events` to D1, for a batch: the inserts of the messages among them
 * (rows already there are left alone), several rows per statement, as many as D1's parameter
 * limit allows, since a flush carries every message a room stored in the last few seconds;
 * then each edit, delete and reaction in seq order. A copy may run twice: inserts do nothing
 * the second time, an edit or delete applies only above the row's `change_seq`, and a reaction
 * is set on or off, so the rows end as the log's last events left them.
 */
export function messageInserts(db: DrizzleD1Database, events: readonly StoredFrame[]): ArchiveStatement[] {
  const rows: Message[] = [];
  const changes: ServerChangeFrame[] = [];
  for (const event of events) {
    const data: unknown = JSON.parse(event.frame);
    const type = (data as { type?: unknown } | null)?.type;
    if (type === "message") {
      const parsed = ServerMessageFrame.safeParse(data);
      if (parsed.success) rows.push(parsed.data.message);
    } else if (typeof type === "string" && CHANGE_TYPES.has(type)) {
      const parsed = ServerChangeFrame.safeParse(data);
      if (parsed.success) changes.push(parsed.data);
    }
  }
  const statements: ArchiveStatement[] = [];
  let start = 0;
  while (start < rows.length) {
    let end = start;
    let params = 0;
    while (end < rows.length && params + paramsOf(rows[end] as Message) <= D1_MAX_BOUND_PARAMETERS)
      params += paramsOf(rows[end++] as Message);
    statements.push(db.insert(messages).values(rows.slice(start, end)).onConflictDoNothing());
    start = end;
  }
  for (const change of changes) statements.push(...changeStatements(db, change));
  return statements;
}

function changeStatements(db: DrizzleD1Database, change: ServerChangeFrame): ArchiveStatement[] {
  const above = sql`coalesce(${messages.changeSeq}, 0) < ${change.seq}`;
  switch (change.type) {
    case "edit": {
      const { roomId, messageSeq, text, editedAt } = change.edit;
      return [
        db
          .update(messages)
          .set({ text, editedAt, changeSeq: change.seq })
          .where(and(eq(messages.roomId, roomId), eq(messages.seq, messageSeq), above)),
      ];
    }
    case "delete": {
      const { roomId, messageSeq, deletedAt } = change.delete;
      return [
        db
          .update(messages)
          .set({ text: "", replyTo: null, editedAt: null, deletedAt, changeSeq: change.seq })
          .where(and(eq(messages.roomId, roomId), eq(messages.seq, messageSeq), above)),
        db
          .delete(messageReactions)
          .where(and(eq(messageReactions.roomId, roomId), eq(messageReactions.seq, messageSeq))),
      ];
    }
    case "reaction": {
      const { roomId, messageSeq, emoji, userId, on, at } = change.reaction;
      return [
        on
          ? db
              .insert(messageReactions)
              .values({ roomId, seq: messageSeq, emoji, userId, createdAt: at })
              .onConflictDoNothing()
          : db
              .delete(messageReactions)
              .where(
                and(
                  eq(messageReactions.roomId, roomId),
                  eq(messageReactions.seq, messageSeq),
                  eq(messageReactions.emoji, emoji),
                  eq(messageReactions.userId, userId),
                ),
              ),
      ];
    }
  }
}

/** Copies the messages among `events`, and the changes to them, in one batch. */
export async function archiveMessages(d1: D1Database, events: readonly StoredFrame[]): Promise<void> {
  const db = drizzle(d1);
  const [first, ...rest] = messageInserts(db, events);
  if (first) await db.batch([first, ...rest]);
}

type MessageRow = typeof messages.$inferSelect;

/** An archived row as history shows it: the current text, or a tombstone. */
function archivedView(row: MessageRow): ChatMessage {
  const base = { id: row.id, roomId: row.roomId, seq: row.seq, userId: row.userId, createdAt: row.createdAt };
  if (row.deletedAt !== null) return { ...base, deleted: true, deletedAt: row.deletedAt };
  return {
    ...base,
    text: row.text,
    ...(row.replyTo === null ? {} : { replyTo: row.replyTo }),
    ...(row.editedAt === null ? {} : { editedAt: row.editedAt }),
  };
}

/** Archived messages of a room, newest first, seq < before, as D1 has them now. */
export async function archivedMessagesBefore(
  d1: D1Database,
  roomId: string,
  before: number,
  limit: number,
): Promise<ChatMessage[]> {
  const rows = await drizzle(d1)
    .select()
    .from(messages)
    .where(and(eq(messages.roomId, roomId), lt(messages.seq, before)))
    .orderBy(desc(messages.seq))
    .limit(limit);
  return rows.map(archivedView);
}

/** The message stored at `seq` as it was first posted (author, reply), or null: for checks, not display. */
export async function archivedOriginal(d1: D1Database, roomId: string, seq: number): Promise<Message | null> {
  const [row] = await drizzle(d1)
    .select()
    .from(messages)
    .where(and(eq(messages.roomId, roomId), eq(messages.seq, seq)))
    .limit(1);
  if (!row) return null;
  return {
    id: row.id,
    roomId: row.roomId,
    seq: row.seq,
    userId: row.userId,
    text: row.text,
    createdAt: row.createdAt,
    ...(row.replyTo === null ? {} : { replyTo: row.replyTo }),
  };
}
