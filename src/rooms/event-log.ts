/**
 * @module rooms/event-log
 * The storage of a room's append-only event log and its write-behind watermark, in the object's
 * own SQLite (rooms/sequenced-log.ts decides when to copy, trim and replay). `seq` grows by one
 * per stored event with no gaps: it is taken from the log itself under the object's single
 * thread, and a commit is one synchronous transaction. Stored events are kept as the exact text
 * that was broadcast, so a replay re-sends bytes and never re-serialises.
 *
 * The events table is also the outbox: every event above `flushed_through` (log_meta) with
 * `archive = 1` still has to be copied to D1. A message therefore costs one INSERT, and a flush
 * one watermark write, instead of an outbox row in and out per message.
 */

export type StoredEvent = { seq: number; frame: string; createdAt: number };

/** One write-behind batch; `through` is the watermark once the batch is in D1. */
export type OutboxBatch = { events: StoredEvent[]; through: number };

export class EventLog {
  private readonly sql: SqlStorage;
  /** Highest stored seq; read from SQLite at construction, then kept in step by `append`. */
  private last: number;
  /** Lowest seq still held; older events live only in D1 (if the room copies them there). */
  private first: number;
  /** log_meta's flushed_through: no event at or below it waits for D1. */
  private flushed: number;
  /** Events above the watermark waiting for D1; counted at construction, then kept in memory. */
  private pending: number;

  /** `fresh`: the tables are made now, with every column, no outbox and no rows: nothing to migrate or read. */
  constructor(
    private readonly storage: DurableObjectStorage,
    fresh = false,
  ) {
    this.sql = storage.sql;
    const sql = this.sql;
    sql.exec(
      `CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL,
       created_at INTEGER NOT NULL, archive INTEGER NOT NULL DEFAULT 1)`,
    );
    sql.exec(`CREATE TABLE IF NOT EXISTS log_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
    if (fresh) {
      // Tables made just now hold nothing: an empty log, nothing flushed or waiting.
      this.last = 0;
      this.first = 1;
      this.flushed = 0;
      this.pending = 0;
      return;
    }
    this.migrateOutboxTable();
    const row = sql
      .exec<{ last: number | null; first: number | null }>(`SELECT MAX(seq) AS last, MIN(seq) AS first FROM events`)
      .one();
    // After a trim removed every event, the high-water mark survives in log_meta.
    this.last = row.last ?? this.meta("trimmed_through") ?? 0;
    this.first = row.first ?? this.last + 1;
    this.flushed = this.meta("flushed_through") ?? 0;
    this.pending = sql
      .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM events WHERE seq > ? AND archive = 1`, this.flushed)
      .one().n;
  }

  get lastSeq(): number {
    return this.last;
  }

  /** The oldest seq a resume can replay from; `since` below `firstSeq - 1` means reset. */
  get firstSeq(): number {
    return this.first;
  }

  /** How many events the log holds (seqs are gapless, and trims cut from the oldest end). */
  get size(): number {
    return this.last - this.first + 1;
  }

  /** Events stored for D1 and not copied there yet. */
  get pendingCount(): number {
    return this.pending;
  }

  /**
   * Stores the frame built for the next seq and returns it serialised. `archive` marks it for
   * the write-behind copy to D1. Commits with whatever else is written before the next await
   * (the command record of rooms/commands.ts).
   */
  append(build: (seq: number) => { type: string }, now: number, archive: boolean): { seq: number; text: string } {
    const seq = this.last + 1;
    const text = JSON.stringify(build(seq));
    this.sql.exec(
      `INSERT INTO events (seq, frame, created_at, archive) VALUES (?, ?, ?, ?)`,
      seq,
      text,
      now,
      archive ? 1 : 0,
    );
    this.last = seq;
    if (this.first > seq) this.first = seq;
    if (archive) this.pending++;
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
          `SELECT seq, frame, created_at FROM events
           WHERE seq < ? AND json_extract(frame, '$.type') = ?
           ORDER BY seq DESC LIMIT ?`,
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

  /**
   * The oldest events waiting for D1, for one write-behind batch. A batch that is not full
   * holds everything pending, so its watermark may move to the newest seq: past events never
   * meant for D1 too, which would otherwise hold the watermark (and the trim) back for good.
   */
  pendingOutbox(limit: number): OutboxBatch {
    const events = this.sql
      .exec<{ seq: number; frame: string; created_at: number }>(
        `SELECT seq, frame, created_at FROM events WHERE seq > ? AND archive = 1 ORDER BY seq LIMIT ?`,
        this.flushed,
        limit,
      )
      .toArray()
      .map((row) => ({ seq: row.seq, frame: row.frame, createdAt: row.created_at }));
    const full = events.length === limit;
    // A complete read is also the exact count, whatever a rolled-back append left in memory.
    if (!full) {
      this.pending = events.length;
      return { events, through: this.last };
    }
    const newest = events[events.length - 1];
    if (!newest) throw new Error(`pendingOutbox: limit must be at least 1 (got ${limit})`);
    return { events, through: newest.seq };
  }

  /** The batch is in D1: one watermark write, whatever its size. */
  markFlushed(batch: OutboxBatch): void {
    if (batch.through <= this.flushed) return;
    this.setMeta("flushed_through", batch.through);
    this.flushed = batch.through;
    this.pending = Math.max(0, this.pending - batch.events.length);
  }

  /** Drops events beyond the newest `keep`, but never one that still waits for D1. */
  trim(keep: number): void {
    const cutoff = Math.min(this.last - keep, this.flushed); // delete seq <= cutoff
    if (cutoff < this.first) return;
    this.sql.exec(`DELETE FROM events WHERE seq <= ?`, cutoff);
    this.setMeta("trimmed_through", cutoff);
    this.first = cutoff + 1;
  }

  /**
   * Objects created before the watermark kept an `outbox` table of seqs to copy and events
   * without `archive`. Runs once per such object: the watermark goes just below the oldest
   * outbox entry (or to the last seq when the outbox was empty), and events above it that were
   * not in the outbox (already copied, or never meant for D1) are marked not to be copied.
   */
  private migrateOutboxTable(): void {
    const sql = this.sql;
    const hasOutbox =
      sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'`).toArray().length > 0;
    const hasArchive = sql
      .exec<{ name: string }>(`PRAGMA table_info(events)`)
      .toArray()
      .some((c) => c.name === "archive");
    if (hasArchive && !hasOutbox) return;
    this.storage.transactionSync(() => {
      if (!hasArchive) sql.exec(`ALTER TABLE events ADD COLUMN archive INTEGER NOT NULL DEFAULT 1`);
      const oldest = hasOutbox
        ? sql.exec<{ seq: number | null }>(`SELECT MIN(seq) AS seq FROM outbox`).one().seq
        : null;
      const last =
        sql.exec<{ seq: number | null }>(`SELECT MAX(seq) AS seq FROM events`).one().seq ??
        this.meta("trimmed_through") ??
        0;
      const watermark = oldest === null ? last : oldest - 1;
      if (hasOutbox)
        sql.exec(`UPDATE events SET archive = 0 WHERE seq > ? AND seq NOT IN (SELECT seq FROM outbox)`, watermark);
      this.setMeta("flushed_through", watermark);
      sql.exec(`DROP TABLE IF EXISTS outbox`);
    });
  }

  private meta(key: string): number | undefined {
    return this.sql.exec<{ value: number }>(`SELECT value FROM log_meta WHERE key = ?`, key).toArray()[0]?.value;
  }

  private setMeta(key: string, value: number): void {
    this.sql.exec(
      `INSERT INTO log_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      key,
      value,
    );
  }
}
