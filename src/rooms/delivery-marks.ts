/**
 * @module rooms/delivery-marks
 * Members' delivered marks in a chat room: every event through a member's mark reached at least
 * one of their devices (a socket, an SSE stream, a long poll's answer, or a push the
 * notifications consumer delivered). Together with the read marks (rooms/read-marks.ts) they give
 * each message its state: sent (stored), delivered, read.
 *
 * The hot path costs nothing: while a member is online here, every event is sent to them as it
 * is stored, so their effective mark is the room's newest seq (`effective`), and nothing is
 * written per frame. A member's own row moves only when that stops being implied or something
 * else delivers: a connection opens (the welcome carries the room's seq, and the row is flagged
 * online) or the last one closes (the flag is cleared), a long poll is answered, a push is
 * delivered. The room's alarm, which follows each new event within its write-behind delay,
 * stores what being online implied as one row for every online member together (`onlineThrough`:
 * a flagged row's mark is at least that seq), not a row each, so a restart that closes the
 * sockets with no close event loses no mark, and a busy room of 250 writes 1 row per beat, not
 * 250. The room tells connections with a `delivered` frame per member, coalesced
 * (`DeliveredFrames`), when a poll or a push moved the mark; a connection that opens or closes
 * says it with its `presence` frame.
 */

type MarkRow = { seq: number; online: boolean };

export class DeliveryMarks {
  /** The rows by user id: loaded from the table on first use after a wake, then kept with it. */
  private byUser: Map<string, MarkRow> | null = null;
  /** Every row flagged online has had everything through this seq (0: not stored yet). */
  private onlineThrough = 0;
  /**
   * Whether rows flagged online by an earlier run of this object (a restart that closed sockets
   * with no close event) have been settled; memory only, so each run settles once (`storeOnline`).
   */
  private settled = false;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS delivered (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL,
       online INTEGER NOT NULL DEFAULT 0)`,
    );
    // Rooms made before the flag: their members' rows say offline, which their next presence corrects.
    const columns = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('delivered')`).toArray();
    if (!columns.some((c) => c.name === "online"))
      sql.exec(`ALTER TABLE delivered ADD COLUMN online INTEGER NOT NULL DEFAULT 0`);
    sql.exec(
      `CREATE TABLE IF NOT EXISTS delivered_online (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL)`,
    );
  }

  private get rows(): Map<string, MarkRow> {
    if (this.byUser === null) {
      this.byUser = new Map();
      for (const row of this.sql.exec<{ user_id: string; seq: number; online: number }>(
        `SELECT user_id, seq, online FROM delivered`,
      ))
        this.byUser.set(row.user_id, { seq: row.seq, online: row.online === 1 });
      this.onlineThrough =
        this.sql.exec<{ seq: number }>(`SELECT seq FROM delivered_online WHERE id = 1`).toArray()[0]?.seq ?? 0;
    }
    return this.byUser;
  }

  /** The stored mark of `userId` (0: nothing reached them yet). */
  stored(userId: string): number {
    const row = this.rows.get(userId);
    if (!row) return 0;
    return row.online ? Math.max(row.seq, this.onlineThrough) : row.seq;
  }

  /** The mark with what being online implies: an online member has been sent everything through `lastSeq`. */
  effective(userId: string, online: boolean, lastSeq: number): number {
    return Math.max(this.stored(userId), online ? lastSeq : 0);
  }

  /** Moves `userId`'s stored mark to `seq` if that is forward; true when it moved (one row written). */
  advance(userId: string, seq: number): boolean {
    if (seq <= this.stored(userId)) return false;
    this.write(userId, seq, this.rows.get(userId)?.online ?? false);
    return true;
  }

  /** A member's first connection opened, its welcome carrying `seq`: the row says so (one row written). */
  joined(userId: string, seq: number): void {
    this.write(userId, Math.max(seq, this.stored(userId)), true);
  }

  /** A member's last connection closed, having had everything through `seq`: the row keeps it (one row written). */
  left(userId: string, seq: number): void {
    this.write(userId, Math.max(seq, this.stored(userId)), false);
  }

  /**
   * The alarm's share: every member online now has had everything through `lastSeq`, stored as
   * one row. Rows still flagged online by an earlier run of the object whose member is not online
   * in this one (their sockets closed in a restart, with no close event) keep the mark they had
   * and lose the flag first, once per run: they never had what comes after.
   */
  storeOnline(online: ReadonlySet<string>, lastSeq: number): void {
    const rows = this.rows;
    if (!this.settled) {
      for (const [userId, row] of rows) if (row.online && !online.has(userId)) this.left(userId, 0);
      this.settled = true;
    }
    if (lastSeq <= this.onlineThrough || ![...rows.values()].some((row) => row.online)) return;
    this.sql.exec(
      `INSERT INTO delivered_online (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq`,
      lastSeq,
    );
    this.onlineThrough = lastSeq;
  }

  /** A member who is gone has no mark. */
  forget(userId: string): void {
    this.sql.exec(`DELETE FROM delivered WHERE user_id = ?`, userId);
    this.rows.delete(userId);
  }

  private write(userId: string, seq: number, online: boolean): void {
    this.sql.exec(
      `INSERT INTO delivered (user_id, seq, online) VALUES (?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET seq = max(delivered.seq, excluded.seq), online = excluded.online`,
      userId,
      seq,
      online ? 1 : 0,
    );
    this.rows.set(userId, { seq, online });
  }
}

/** How long marks that moved wait to go out together as `delivered` frames. */
export const DELIVERED_FRAME_DELAY_MS = 100;

/**
 * Coalesces `delivered` frames: a member whose mark moves many times within the delay (a poller
 * answered per event, a batch of pushes) is announced once, with the newest mark. The timer
 * lives in memory; an object evicted before it fires loses only the frames (the marks are stored,
 * and the next welcome and history carry them).
 */
export class DeliveredFrames {
  private readonly pending = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly send: (userId: string, seq: number) => void) {}

  add(userId: string, seq: number): void {
    this.pending.set(userId, Math.max(seq, this.pending.get(userId) ?? 0));
    this.timer ??= setTimeout(() => this.flush(), DELIVERED_FRAME_DELAY_MS);
  }

  private flush(): void {
    this.timer = null;
    const marks = [...this.pending];
    this.pending.clear();
    for (const [userId, seq] of marks) this.send(userId, seq);
  }
}

/**
 * The receipt of one message of `author` at `seq`: how many of `others` (the members but the
 * author, and but those who block the author) it reached and how many read it. Reading implies
 * delivery (a member who read on another device counts as reached).
 */
export function receiptOf(
  seq: number,
  others: readonly { delivered: number; read: number }[],
): { seq: number; deliveredTo: number; readBy: number } {
  let deliveredTo = 0;
  let readBy = 0;
  for (const member of others) {
    if (member.read >= seq) readBy++;
    if (Math.max(member.delivered, member.read) >= seq) deliveredTo++;
  }
  return { seq, deliveredTo, readBy };
}
