/**
 * @module rooms/delivery-marks
 * Members' delivered marks in a chat room: every event through a member's mark reached at least
 * one of their devices (a socket, an SSE stream, a long poll's answer, or a push the
 * notifications consumer delivered). Together with the read marks (rooms/read-marks.ts) they give
 * each message its state: sent (stored), delivered, read.
 *
 * The hot path costs nothing: while a member is online here, every event is sent to them as it
 * is stored, so their effective mark is the room's newest seq (`effective`), and nothing is
 * written per frame. The stored mark moves only when that stops being implied or something else
 * delivers: a connection opens (the welcome carries the room's seq) or the last one closes, a long
 * poll is answered, a push is delivered; and the room's alarm, which follows each new event
 * within OUTBOX_FLUSH_DELAY_MS, stores what being online implied, so a restart that closes the
 * sockets with no close event loses no mark. Each is one row per member, kept in the room's
 * SQLite. The room tells connections with a `delivered` frame per member, coalesced
 * (`DeliveredFrames`), when a poll or a push moved the mark; a connection that opens or closes
 * says it with its `presence` frame.
 */

export class DeliveryMarks {
  /** The stored marks by user id: loaded from the table on first use after a wake, then kept with it. */
  private byUser: Map<string, number> | null = null;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS delivered (user_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)`);
  }

  private get marks(): Map<string, number> {
    if (this.byUser === null) {
      this.byUser = new Map();
      for (const row of this.sql.exec<{ user_id: string; seq: number }>(`SELECT user_id, seq FROM delivered`))
        this.byUser.set(row.user_id, row.seq);
    }
    return this.byUser;
  }

  /** The stored mark of `userId` (0: nothing reached them yet). */
  stored(userId: string): number {
    return this.marks.get(userId) ?? 0;
  }

  /** The mark with what being online implies: an online member has been sent everything through `lastSeq`. */
  effective(userId: string, online: boolean, lastSeq: number): number {
    return Math.max(this.stored(userId), online ? lastSeq : 0);
  }

  /** Moves `userId`'s stored mark to `seq` if that is forward; true when it moved (one row written). */
  advance(userId: string, seq: number): boolean {
    if (seq <= this.stored(userId)) return false;
    this.sql.exec(
      `INSERT INTO delivered (user_id, seq) VALUES (?, ?)
       ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > delivered.seq`,
      userId,
      seq,
    );
    this.marks.set(userId, seq);
    return true;
  }

  /** A member who is gone has no mark. */
  forget(userId: string): void {
    this.sql.exec(`DELETE FROM delivered WHERE user_id = ?`, userId);
    this.marks.delete(userId);
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
