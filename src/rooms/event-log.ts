/**
 * @module rooms/event-log
 * A room's append-only event log, its command dedupe table and its outbox, all in the
 * object's own SQLite. `seq` grows by one per stored event with no gaps: it is taken from the
 * log itself under the object's single thread, and a commit is one synchronous transaction.
 * Stored events are kept as the exact text that was broadcast, so a replay re-sends bytes and
 * never re-serialises.
 */

export type StoredEvent = { seq: number; frame: string; createdAt: number };

export class EventLog {
  /** Highest stored seq; read from SQLite at construction, then kept in step by `append`. */
  private last: number;
  /** Lowest seq still held; older events live only in D1 (if the room copies them there). */
  private first: number;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL, created_at INTEGER NOT NULL)`);
    sql.exec(
      `CREATE TABLE IF NOT EXISTS commands (user_id TEXT NOT NULL, command_id TEXT NOT NULL, seq INTEGER, created_at INTEGER NOT NULL, PRIMARY KEY (user_id, command_id))`,
    );
    sql.exec(`CREATE INDEX IF NOT EXISTS commands_created_idx ON commands (created_at)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY)`);
    sql.exec(`CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
    const row = sql.exec<{ last: number | null; first: number | null }>(`SELECT MAX(seq) AS last, MIN(seq) AS first FROM events`).one();
    // After a trim removed every event, the high-water mark survives in log_meta.
    const trimmedThrough = this.meta("trimmed_through") ?? 0;
    this.last = row.last ?? trimmedThrough;
    this.first = row.first ?? this.last + 1;
  }

  get lastSeq(): number {
    return this.last;
  }

  /** The oldest seq a resume can replay from; `since` below `firstSeq - 1` means reset. */
  get firstSeq(): number {
    return this.first;
  }

  /**
   * Stores the frame built for the next seq and returns it serialised. `outbox` marks it for
   * the write-behind copy to D1. Call inside `transactionSync` with the command record.
   */
  append(build: (seq: number) => object, now: number, outbox: boolean): { seq: number; text: string } {
    const seq = this.last + 1;
    const text = JSON.stringify(build(seq));
    this.sql.exec(`INSERT INTO events (seq, frame, created_at) VALUES (?, ?, ?)`, seq, text, now);
    if (outbox) this.sql.exec(`INSERT INTO outbox (seq) VALUES (?)`, seq);
    this.last = seq;
    if (this.first > seq) this.first = seq;
    return { seq, text };
  }

  /** Events with seq > since, oldest first, streamed from SQLite (not loaded all at once). */
  *after(since: number): Generator<StoredEvent> {
    const cursor = this.sql.exec<{ seq: number; frame: string; created_at: number }>(
      `SELECT seq, frame, created_at FROM events WHERE seq > ? ORDER BY seq`,
      since,
    );
    for (const row of cursor) yield { seq: row.seq, frame: row.frame, createdAt: row.created_at };
  }

  /** Newest first, seq < before. */
  before(before: number, limit: number, frameType?: string): StoredEvent[] {
    const rows = frameType
      ? this.sql.exec<{ seq: number; frame: string; created_at: number }>(
          `SELECT seq, frame, created_at FROM events WHERE seq < ? AND json_extract(frame, '$.type') = ? ORDER BY seq DESC LIMIT ?`,
          before,
          frameType,
          limit,
        )
      : this.sql.exec<{ seq: number; frame: string; created_at: number }>(
          `SELECT seq, frame, created_at FROM events WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
          before,
          limit,
        );
    return rows.toArray().map((row) => ({ seq: row.seq, frame: row.frame, createdAt: row.created_at }));
  }

  /** The seq a command already produced, if this user sent this command id before. */
  recall(userId: string, commandId: string): { seq: number | null } | undefined {
    const row = this.sql
      .exec<{ seq: number | null }>(`SELECT seq FROM commands WHERE user_id = ? AND command_id = ?`, userId, commandId)
      .toArray()[0];
    return row ? { seq: row.seq } : undefined;
  }

  remember(userId: string, commandId: string, seq: number | null, now: number): void {
    this.sql.exec(`INSERT INTO commands (user_id, command_id, seq, created_at) VALUES (?, ?, ?, ?)`, userId, commandId, seq, now);
  }

  /** The oldest outbox entries with their frames, for one write-behind batch. */
  pendingOutbox(limit: number): StoredEvent[] {
    return this.sql
      .exec<{ seq: number; frame: string; created_at: number }>(
        `SELECT e.seq, e.frame, e.created_at FROM outbox o JOIN events e ON e.seq = o.seq ORDER BY o.seq LIMIT ?`,
        limit,
      )
      .toArray()
      .map((row) => ({ seq: row.seq, frame: row.frame, createdAt: row.created_at }));
  }

  hasPendingOutbox(): boolean {
    return this.sql.exec(`SELECT 1 FROM outbox LIMIT 1`).toArray().length > 0;
  }

  markFlushed(seqs: number[]): void {
    for (const seq of seqs) this.sql.exec(`DELETE FROM outbox WHERE seq = ?`, seq);
  }

  /**
   * Drops events beyond the newest `keep`, but never one still waiting in the outbox, and
   * forgets command ids older than `commandTtlMs`.
   */
  trim(keep: number, commandTtlMs: number, now: number): void {
    const oldestPending = this.sql.exec<{ seq: number | null }>(`SELECT MIN(seq) AS seq FROM outbox`).one().seq;
    let cutoff = this.last - keep; // delete seq <= cutoff
    if (oldestPending !== null) cutoff = Math.min(cutoff, oldestPending - 1);
    if (cutoff >= this.first) {
      this.sql.exec(`DELETE FROM events WHERE seq <= ?`, cutoff);
      this.sql.exec(`INSERT INTO log_meta (key, value) VALUES ('trimmed_through', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, cutoff);
      this.first = cutoff + 1;
    }
    this.sql.exec(`DELETE FROM commands WHERE created_at < ?`, now - commandTtlMs);
  }

  private meta(key: string): number | undefined {
    return this.sql.exec<{ value: number }>(`SELECT value FROM log_meta WHERE key = ?`, key).toArray()[0]?.value;
  }
}
