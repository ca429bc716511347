/**
 * @module rooms/read-marks
 * Members' read marks in a chat room: the live mark in the room's `members` table (it moves forward
 * only, and never past the newest event), copied behind, on the room's alarm, to the room's shard
 * beside its messages (db/read-marks.ts), for the unread counts of `GET /v1/rooms`. The mark D1 has
 * is kept beside it (`read_copied`), so a mark that moves writes its own row and nothing else, and
 * a copy writes one row per member whose mark moved since the last one, however many times it
 * moved.
 */
import { type ReadMark, readMarksStatement, saveReadMarks } from "../db/read-marks";

/** How many marks one copy sends at most; the rest go in the next batch of the same copy. */
const FLUSH_BATCH = 50;

export class ReadMarks {
  /**
   * Members whose mark moved since this object woke, with the newest mark: the copy looks them
   * up instead of reading every member. Marks that moved before the wake are found by one pass
   * over `members` (`swept` false until it ran).
   */
  private readonly moved = new Map<string, number>();
  private swept = false;

  /** `shard`: the room's chat shard, asked at each copy (a shard move may change it). */
  constructor(
    private readonly sql: SqlStorage,
    private readonly shard: () => D1Database,
  ) {}

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
    this.moved.set(userId, seq);
    return true;
  }

  get pending(): boolean {
    if (this.swept) return this.moved.size > 0;
    return this.sql.exec(`SELECT 1 FROM members WHERE read_seq > read_copied LIMIT 1`).toArray().length > 0;
  }

  /**
   * Copies the marks D1 does not have yet; each is marked copied only up to the mark it copied, so
   * that one that moved during the copy goes in the next. Throws when D1 fails: they wait for the
   * next alarm.
   */
  async flush(roomId: string): Promise<void> {
    // A member's mark goes once per copy: one that moves again while a batch is in D1 waits for the next
    // alarm (its move set it), or readers who keep reading would keep the copy, and the alarm, going.
    const copied = new Set<string>();
    for (;;) {
      const { marks, complete, sweeping } = this.nextBatch(copied);
      if (marks.length > 0) await saveReadMarks(this.shard(), roomId, marks);
      this.copiedThrough(marks, copied, sweeping && complete);
      // Marks that moved during the copy have set the alarm again: they go in the next copy.
      if (complete) return;
    }
  }

  /**
   * A batch of marks to copy in the same transaction as the room's messages (one D1 write where
   * there were two): `statement` for the batch, and `copied` to call once it committed. Null when
   * no mark waits. What one batch leaves goes in `flush`, after.
   */
  alongsideMessages(roomId: string): { statement: D1PreparedStatement; copied: () => void } | null {
    if (!this.pending) return null;
    const { marks, complete, sweeping } = this.nextBatch(new Set());
    if (marks.length === 0) return null;
    return {
      statement: readMarksStatement(this.shard(), roomId, marks),
      copied: () => this.copiedThrough(marks, new Set(), sweeping && complete),
    };
  }

  /**
   * The next marks to copy, leaving out members of `copied`; `complete` when it holds every mark left
   * (members it leaves out are then no longer waited for); `sweeping` when it came from the pass over
   * every member that the first copy since the wake makes.
   */
  private nextBatch(copied: Set<string>): { marks: ReadMark[]; complete: boolean; sweeping: boolean } {
    const sweeping = !this.swept;
    const asked = sweeping ? [] : [...this.moved.keys()].filter((userId) => !copied.has(userId));
    const marks = sweeping ? this.uncopied(copied) : this.uncopiedOf(asked);
    const complete = marks.length < FLUSH_BATCH;
    if (complete && !sweeping) {
      const waiting = new Set(marks.map((m) => m.userId));
      for (const userId of asked) if (!waiting.has(userId)) this.moved.delete(userId);
    }
    return { marks, complete, sweeping };
  }

  /**
   * D1 has `marks`: each member's mark is copied up to the mark sent, and their id added to `copied`.
   * `swept`: they were the rest of the first pass, so the marks that moved before the wake are all in
   * D1 (only now: after a failed write, the next copy must look at every member again).
   */
  private copiedThrough(marks: readonly ReadMark[], copied: Set<string>, swept: boolean): void {
    if (swept) this.swept = true;
    for (const { userId, seq } of marks) {
      this.sql.exec(`UPDATE members SET read_copied = ? WHERE user_id = ? AND read_copied < ?`, seq, userId, seq);
      if (this.moved.get(userId) === seq) this.moved.delete(userId);
      copied.add(userId);
    }
  }

  /** A member who is gone has no mark to copy (their row goes with them). */
  forget(userId: string): void {
    this.moved.delete(userId);
  }

  /** Every member's mark D1 does not have, but those of `copied` (this copy sent theirs already). */
  private uncopied(copied: Set<string>): ReadMark[] {
    return this.sql
      .exec<ReadMark>(
        `SELECT user_id AS userId, read_seq AS seq FROM members
         WHERE read_seq > read_copied AND user_id NOT IN (SELECT value FROM json_each(?)) LIMIT ?`,
        JSON.stringify([...copied]),
        FLUSH_BATCH,
      )
      .toArray();
  }

  private uncopiedOf(userIds: string[]): ReadMark[] {
    if (userIds.length === 0) return [];
    return this.sql
      .exec<ReadMark>(
        `SELECT user_id AS userId, read_seq AS seq FROM members
         WHERE user_id IN (SELECT value FROM json_each(?)) AND read_seq > read_copied LIMIT ?`,
        JSON.stringify(userIds),
        FLUSH_BATCH,
      )
      .toArray();
  }
}

/**
 * Rooms made before `read_copied` kept the marks still to copy in a `read_outbox` table: their
 * members gain the column, every mark but those waiting there counts as copied, and the table goes.
 * Once per room, in one transaction.
 */
export function addReadCopied(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  const columns = sql.exec<{ name: string }>(`PRAGMA table_info(members)`).toArray();
  const outbox = sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'read_outbox'`).toArray();
  if (columns.some((c) => c.name === "read_copied") && outbox.length === 0) return;
  storage.transactionSync(() => {
    if (!columns.some((c) => c.name === "read_copied")) {
      sql.exec(`ALTER TABLE members ADD COLUMN read_copied INTEGER NOT NULL DEFAULT 0`);
      sql.exec(`UPDATE members SET read_copied = read_seq`);
    }
    if (outbox.length > 0) {
      sql.exec(`UPDATE members SET read_copied = 0 WHERE user_id IN (SELECT user_id FROM read_outbox)`);
      sql.exec(`DROP TABLE read_outbox`);
    }
  });
}
