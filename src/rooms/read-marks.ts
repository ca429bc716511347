/**
 * @module rooms/read-marks
 * Members' read marks in a chat room: the live mark in the room's `members` table (it moves
 * forward only, and never past the newest event), and an outbox that copies the marks to D1
 * behind, on the room's alarm, for the unread counts of `GET /v1/rooms`. Several marks of one
 * member between two flushes are one row: only the newest is copied.
 */
import { saveReadMarks } from "../db/rooms";

/** How many marks one flush copies at most; the rest wait for the next alarm. */
const FLUSH_BATCH = 50;

export class ReadMarks {
  constructor(
    private readonly sql: SqlStorage,
    private readonly db: D1Database,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS read_outbox (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)`);
  }

  /** Moves `userId`'s mark to `seq` if that is forward; true when it moved (then it waits for D1). */
  mark(userId: string, seq: number): boolean {
    // A read frame follows most messages a reader sees: told by the rows written, cheaper than `RETURNING`.
    const moved = this.sql.exec(
      `UPDATE members SET read_seq = ? WHERE user_id = ? AND read_seq < ?`,
      seq,
      userId,
      seq,
    ).rowsWritten;
    if (moved === 0) return false;
    this.sql.exec(
      `INSERT INTO read_outbox (user_id, seq) VALUES (?, ?) ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq`,
      userId,
      seq,
    );
    return true;
  }

  get pending(): boolean {
    return this.sql.exec(`SELECT 1 FROM read_outbox LIMIT 1`).toArray().length > 0;
  }

  /**
   * Copies the waiting marks to D1; a row is cleared only if no newer mark replaced it during the
   * copy. Throws when D1 fails: the rows stay for the next alarm.
   */
  async flush(roomId: string): Promise<void> {
    for (;;) {
      const marks = this.sql
        .exec<{ userId: string; seq: number }>(`SELECT user_id AS userId, seq FROM read_outbox LIMIT ?`, FLUSH_BATCH)
        .toArray();
      if (marks.length === 0) return;
      await saveReadMarks(this.db, roomId, marks);
      for (const { userId, seq } of marks)
        this.sql.exec(`DELETE FROM read_outbox WHERE user_id = ? AND seq = ?`, userId, seq);
      if (marks.length < FLUSH_BATCH) return;
    }
  }

  /** A member who is gone has no mark to copy. */
  forget(userId: string): void {
    this.sql.exec(`DELETE FROM read_outbox WHERE user_id = ?`, userId);
  }
}
