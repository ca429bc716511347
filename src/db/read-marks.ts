/**
 * @module db/read-marks
 * Chat read marks in the rooms' partition databases (`read_marks`, db/shards kind "chat", keyed
 * by room id beside the room's messages): written by the room's copy (rooms/read-marks.ts), read
 * by the unread counts (db/rooms.ts, db/messages.ts). `DB`'s `room_members.read_seq` holds the marks
 * copied before this table; wherever a mark is read, the higher of the two counts.
 */

/** A member's mark, as the room copies it. */
export type ReadMark = { userId: string; seq: number };

/**
 * Copies a room's marks to its shard in one statement; a mark only moves forward, so a batch may
 * be copied twice, and a late copy never moves a mark back.
 */
export async function saveReadMarks(d1: D1Database, roomId: string, marks: readonly ReadMark[]): Promise<void> {
  if (marks.length === 0) return;
  await readMarksStatement(d1, roomId, marks).run();
}

/** `saveReadMarks`'s statement, for a batch that copies the room's messages too (db/messages.ts `archiveMessages`). */
export function readMarksStatement(d1: D1Database, roomId: string, marks: readonly ReadMark[]): D1PreparedStatement {
  return d1
    .prepare(
      // `WHERE true` keeps SQLite from reading the upsert's ON as a join constraint.
      `INSERT INTO read_marks (room_id, user_id, read_seq)
       SELECT ?1, value ->> '$.userId', value ->> '$.seq' FROM json_each(?2) WHERE true
       ON CONFLICT (room_id, user_id) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)`,
    )
    .bind(roomId, JSON.stringify(marks));
}

/**
 * `userId`'s marks in `roomIds` as `d1` has them (rooms it has no mark of are left out): while a
 * shard move runs, a room's newest mark may be in either of its homes, so both are asked.
 */
export async function readMarksIn(d1: D1Database, userId: string, roomIds: readonly string[]) {
  const { results } = await d1
    .prepare(
      `SELECT room_id, read_seq FROM read_marks
       WHERE user_id = ?1 AND room_id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(userId, JSON.stringify(roomIds))
    .all<{ room_id: string; read_seq: number }>();
  return new Map(results.map((row) => [row.room_id, Number(row.read_seq)]));
}

/**
 * The SQL of a position's read mark inside a shard's unread query: the mark `DB` passed (from before
 * this table), or the shard's own when it is higher. `?2` is the member, `p` the position from json_each.
 */
export const MARK_IN_SHARD = `max(p.value ->> '$.readSeq', coalesce((SELECT r.read_seq FROM read_marks AS r
  WHERE r.room_id = p.value ->> '$.roomId' AND r.user_id = ?2), 0))`;
