/**
 * @module db/messages
 * Chat messages in D1, shared by chat rooms and trip chat: the write-behind copy from a room's
 * outbox (idempotent on room and seq) with the edits, deletes and reactions applied to it, and
 * the read-back of history the room no longer keeps.
 */
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { z } from "zod";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { Attachment } from "../protocol/attachments";
import type { ChatMessage, Message } from "../protocol/common";
import { ServerChangeFrame, ServerMessageFrame } from "../protocol/frames";
import { MARK_IN_SHARD } from "./read-marks";
import { messageReactions, messages } from "./schema";

/** An event as a room's log stored it: the exact text of the frame it broadcast. */
export type StoredFrame = { frame: string };

/** The message inside a stored `message` frame, or null for any other frame. */
export function messageOf(event: StoredFrame): Message | null {
  const parsed = ServerMessageFrame.safeParse(JSON.parse(event.frame));
  return parsed.success ? parsed.data.message : null;
}

/**
 * The most JSON one insert carries in its one parameter: well under D1's 2 MB limit on a string
 * value, so a flush of long messages becomes a few statements, not a refused one.
 */
export const MAX_ARCHIVE_JSON_CHARS = 500_000;

const CHANGE_TYPES = new Set(["edit", "delete", "reaction"]);

/** One statement of the copy, rendered: the write-behind runs it as a D1 prepared statement. */
/** One statement of a flush; `change` marks an edit, delete or reaction (not a new message). */
export type ArchiveQuery = { sql: string; params: unknown[]; change?: true };

/**
 * Drizzle here only renders statements to SQL, never runs them (the write-behind binds the SQL to
 * D1 itself): a flush then builds no query objects, and the insert's SQL is rendered once.
 */
const renderer = drizzle({} as D1Database);

/**
 * The statements that copy `events` to D1, for a batch: the messages among them first, then
 * each edit, delete and reaction in seq order. A flush carries every message a room stored in
 * the last few seconds, so the messages go as one INSERT … SELECT over `json_each` of the
 * stored frames themselves (one parameter: the frames joined into a JSON array, never parsed
 * here), which SQLite unpacks: one statement instead of one per 16 rows (D1 binds at most 100
 * parameters), and no parse of each frame in the room. Only frames of type `message` whose
 * message has every column become rows. A copy may run twice: inserts do nothing the second
 * time, an edit or delete applies only above the row's `change_seq`, and a reaction is set on
 * or off, so the rows end as the log's last events left them.
 */
export function messageInserts(events: readonly StoredFrame[]): ArchiveQuery[] {
  const statements: ArchiveQuery[] = [];
  const changes: ServerChangeFrame[] = [];
  let chunk: string[] = [];
  let chars = 0;
  const flush = () => {
    if (chunk.length > 0) statements.push({ sql: insertMessageFramesSql(), params: [`[${chunk.join(",")}]`] });
    chunk = [];
    chars = 0;
  };
  for (const event of events) {
    // A cheap look at the type: only a change is parsed here, messages are left to SQLite.
    if (event.frame.startsWith('{"type":"message"')) {
      if (chars + event.frame.length > MAX_ARCHIVE_JSON_CHARS) flush();
      chunk.push(event.frame);
      chars += event.frame.length + 1;
      continue;
    }
    const data: unknown = JSON.parse(event.frame);
    const type = (data as { type?: unknown } | null)?.type;
    if (typeof type === "string" && CHANGE_TYPES.has(type)) {
      const parsed = ServerChangeFrame.safeParse(data);
      if (parsed.success) changes.push(parsed.data);
    }
  }
  flush();
  for (const change of changes)
    statements.push(...changeStatements(renderer, change).map((s) => ({ ...s.toSQL(), change: true as const })));
  return statements;
}

/**
 * The messages among `frames` (a JSON array of stored frames) into `messages`, in the table's
 * column order; rows already there are left alone. The WHERE also keeps SQLite from reading
 * the upsert's ON as a join constraint.
 */
function insertMessageFramesSql(): string {
  insertFramesSql ??= insertMessageFrames("[]").toSQL().sql;
  return insertFramesSql;
}
let insertFramesSql: string | undefined;

function insertMessageFrames(frames: string) {
  const m = (path: string) => sql.raw(`value ->> '$.message.${path}'`);
  return renderer
    .insert(messages)
    .select(
      sql`SELECT ${m("id")}, ${m("roomId")}, ${m("seq")}, ${m("userId")}, ${m("text")}, ${m("createdAt")},
        ${m("replyTo")}, NULL, NULL, NULL, value -> '$.message.attachments'
        FROM json_each(${frames})
        WHERE value ->> '$.type' = 'message' AND json_type(value, '$.message.seq') = 'integer'
          AND ${m("id")} IS NOT NULL AND ${m("roomId")} IS NOT NULL AND ${m("userId")} IS NOT NULL
          AND json_type(value, '$.message.text') = 'text'
          AND json_type(value, '$.message.createdAt') = 'integer'`,
    )
    .onConflictDoNothing();
}

function changeStatements(db: DrizzleD1Database, change: ServerChangeFrame) {
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
          .set({ text: "", replyTo: null, editedAt: null, deletedAt, changeSeq: change.seq, attachments: null })
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

/**
 * Copies the messages among `events`, and the changes to them, in one batch (with `alongside`,
 * statements of `d1` that go in the same transaction: the room's read marks). While a shard move
 * takes the room's bucket elsewhere, `earlier` is the shard it leaves (db/shards
 * `earlierShardDatabase`): a message the move has not copied yet is still there, so the changes
 * (edits, deletes, reactions; each safe to apply twice) go there too, and the move carries the
 * changed row over (it keeps the row with the higher `change_seq`, db/shard-move.ts).
 */
export async function archiveMessages(
  d1: D1Database,
  events: readonly StoredFrame[],
  earlier: D1Database | null = null,
  alongside: readonly D1PreparedStatement[] = [],
): Promise<void> {
  const queries = messageInserts(events);
  const statements = [...queries.map((q) => d1.prepare(q.sql).bind(...q.params)), ...alongside];
  if (statements.length > 0) await d1.batch(statements);
  const changes = earlier ? queries.filter((q) => q.change) : [];
  if (earlier && changes.length > 0) await earlier.batch(changes.map((q) => earlier.prepare(q.sql).bind(...q.params)));
}

type MessageRow = typeof messages.$inferSelect;

const StoredAttachments = z.array(Attachment);

/** A row's attachments, as the room stored them (a column that does not parse shows none). */
function attachmentsOf(row: MessageRow): { attachments?: Attachment[] } {
  if (row.attachments === null) return {};
  try {
    const parsed = StoredAttachments.safeParse(JSON.parse(row.attachments));
    return parsed.success ? { attachments: parsed.data } : {};
  } catch {
    return {};
  }
}

/** An archived row as history shows it: the current text, or a tombstone. */
function archivedView(row: MessageRow): ChatMessage {
  const base = { id: row.id, roomId: row.roomId, seq: row.seq, userId: row.userId, createdAt: row.createdAt };
  if (row.deletedAt !== null) return { ...base, deleted: true, deletedAt: row.deletedAt };
  return {
    ...base,
    text: row.text,
    ...(row.replyTo === null ? {} : { replyTo: row.replyTo }),
    ...(row.editedAt === null ? {} : { editedAt: row.editedAt }),
    ...attachmentsOf(row),
  };
}

/**
 * Archived messages of a room, newest first, seq < before, from its homes (db/shards
 * `shardHomes`: its shard, and while a shard move runs, the one before it).
 */
export async function archivedMessagesBefore(
  homes: readonly D1Database[],
  roomId: string,
  before: number,
  limit: number,
): Promise<ChatMessage[]> {
  const pages = await Promise.all(
    homes.map((d1) =>
      drizzle(d1)
        .select()
        .from(messages)
        .where(and(eq(messages.roomId, roomId), lt(messages.seq, before)))
        .orderBy(desc(messages.seq))
        .limit(limit),
    ),
  );
  // While a shard move runs, a row may be in both homes: the first home's copy is the newer.
  const bySeq = new Map<number, (typeof pages)[number][number]>();
  for (const page of pages) for (const row of page) if (!bySeq.has(row.seq)) bySeq.set(row.seq, row);
  return [...bySeq.values()]
    .sort((a, b) => b.seq - a.seq)
    .slice(0, limit)
    .map(archivedView);
}

/**
 * The message stored at `seq` as it was first posted (author, reply), or null: for checks, not
 * display. The first of `homes` that holds it answers.
 */
export async function archivedOriginal(
  homes: readonly D1Database[],
  roomId: string,
  seq: number,
): Promise<Message | null> {
  for (const d1 of homes) {
    const [row] = await drizzle(d1)
      .select()
      .from(messages)
      .where(and(eq(messages.roomId, roomId), eq(messages.seq, seq)))
      .limit(1);
    if (!row) continue;
    return {
      id: row.id,
      roomId: row.roomId,
      seq: row.seq,
      userId: row.userId,
      text: row.text,
      createdAt: row.createdAt,
      ...(row.replyTo === null ? {} : { replyTo: row.replyTo }),
      ...attachmentsOf(row),
    };
  }
  return null;
}

/** A `json_group_array` of seqs, as SQLite wrote it. */
const Seqs = z.array(z.number().int());

/**
 * As `unreadInShard`, but the seqs themselves (each room's first `cap` after the mark): while a
 * shard move runs, a room's messages are split between two shards, some in both, and only the
 * union of their seqs counts each once.
 */
export async function unreadSeqsInShard(
  d1: D1Database,
  userId: string,
  positions: readonly { roomId: string; readSeq: number }[],
  blocked: readonly string[],
  cap: number,
): Promise<Map<string, number[]>> {
  const { results } = await d1
    .prepare(
      `SELECT p.value ->> '$.roomId' AS room_id,
         (SELECT json_group_array(seq) FROM (SELECT m.seq FROM messages AS m
            WHERE m.room_id = p.value ->> '$.roomId' AND m.seq > ${MARK_IN_SHARD}
              AND m.user_id != ?2 AND m.deleted_at IS NULL
              AND m.user_id NOT IN (SELECT value FROM json_each(?3))
            ORDER BY m.seq LIMIT ?4)) AS seqs
       FROM json_each(?1) AS p`,
    )
    .bind(JSON.stringify(positions), userId, JSON.stringify(blocked), cap)
    .all<{ room_id: string; seqs: string }>();
  return new Map(results.map((row) => [row.room_id, Seqs.parse(JSON.parse(row.seqs))]));
}

/**
 * Unread messages per room in one shard, for a member at `positions` (read marks from the directory
 * database, raised to the shard's own where it has a higher one): after the mark, by others, not
 * deleted, by nobody in `blocked`; each count stops at `cap`, so a listing reads a bounded number
 * of rows however far behind a member is. One statement, the rooms and blocks passed as JSON.
 */
export async function unreadInShard(
  d1: D1Database,
  userId: string,
  positions: readonly { roomId: string; readSeq: number }[],
  blocked: readonly string[],
  cap: number,
): Promise<Map<string, number>> {
  const { results } = await d1
    .prepare(
      `SELECT p.value ->> '$.roomId' AS room_id,
         (SELECT COUNT(*) FROM (SELECT 1 FROM messages AS m
            WHERE m.room_id = p.value ->> '$.roomId' AND m.seq > ${MARK_IN_SHARD}
              AND m.user_id != ?2 AND m.deleted_at IS NULL
              AND m.user_id NOT IN (SELECT value FROM json_each(?3))
            LIMIT ?4)) AS n
       FROM json_each(?1) AS p`,
    )
    .bind(JSON.stringify(positions), userId, JSON.stringify(blocked), cap)
    .all<{ room_id: string; n: number }>();
  return new Map(results.map((row) => [row.room_id, Number(row.n)]));
}
