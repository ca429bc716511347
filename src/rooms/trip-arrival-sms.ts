/**
 * @module rooms/trip-arrival-sms
 * The delayed "your driver has arrived" SMS. When the trip moves to `arrived` and its rider has
 * no socket or stream here, the rider is sent a push (trip-room's `notifyRider`) and this part
 * sets a timer for ARRIVED_SMS_AFTER_SECONDS later. When it rings, with the trip still
 * `arrived` and the rider still not connected, it asks the notification log whether a device
 * acknowledged the push (notify/arrival-sms.ts); if none did, it queues the SMS
 * (`arrivalSmsNotification`: SMS only, with the trip's PIN, to a verified number only, at most
 * once by its id).
 *
 * Why the trip's own alarm and not a queue message with `delaySeconds`: what decides is the
 * trip's state (cancelled, started, a driver who handed the trip back) and whether the rider is
 * connected, both of which this object holds. A move away from `arrived` deletes the timer in
 * the same transaction that stores the move, so a cancel can never race a text already on its
 * way; a delayed queue message cannot be withdrawn, and its consumer would have to ask this
 * object anyway. The timer is a row in the trip's SQLite, so it survives eviction, and the
 * object's one alarm (rooms/alarm-clock.ts) wakes it.
 */
import { arrivalPushOf } from "../db/notifications";
import { arrivalSmsDecision } from "../notify/arrival-sms";
import { arrivalSmsNotification, type NotificationMessage } from "../notify/message";
import { enqueueNotifications } from "../notify/producer";
import type { LazyTables } from "./lazy-tables";

/** How long a timer waits to look again at a push that has not settled yet, or after a failed look. */
export const ARRIVAL_SMS_RECHECK_MS = 10_000;

/**
 * One row per arrival whose push went out: the status event's seq, when to look, and until when an unsettled push may
 * hold the text back. Made with the first timer (rooms/lazy-tables.ts): most trips never set one.
 */
const ARRIVAL_SMS_TABLE = `CREATE TABLE IF NOT EXISTS arrival_sms (
  seq INTEGER PRIMARY KEY,
  check_at INTEGER NOT NULL,
  give_up_waiting_at INTEGER NOT NULL
)`;

type Timer = { seq: number; check_at: number; give_up_waiting_at: number };

/** What the timers need of the trip room when one rings. */
export type ArrivalSmsRoom = {
  /** Whether the trip is still at the arrival the timer was set for (any move away deletes the timer too). */
  stillArrived: () => boolean;
  riderId: () => string;
  /** Whether the rider has a socket or stream in the trip now: they see the arrival there. */
  riderConnected: () => boolean;
  /** The arrival push the rider was sent for the status event `seq` (its id is deterministic). */
  push: (seq: number) => NotificationMessage;
  /** The trip's PIN, or null when it has none. */
  pin: () => string | null;
  /** The rider's notification shard (db/shards), where the arrival push is logged. */
  notificationLog: () => D1Database;
  queue: Queue;
  logError: (where: string, err: unknown) => void;
};

export class ArrivalSmsTimers {
  private readonly sql: SqlStorage;

  constructor(private readonly tables: LazyTables) {
    this.sql = tables.sql;
  }

  /** Whether a timer was ever set here: without one there is no table to read. */
  private get made(): boolean {
    return this.tables.has("arrival_sms");
  }

  /** Sets the timer of the arrival stored as `seq`; returns when it rings. */
  set(seq: number, now: number, afterSeconds: number): number {
    const checkAt = now + afterSeconds * 1000;
    this.tables.ensure("arrival_sms", ARRIVAL_SMS_TABLE);
    this.sql.exec(
      `INSERT OR IGNORE INTO arrival_sms (seq, check_at, give_up_waiting_at) VALUES (?, ?, ?)`,
      seq,
      checkAt,
      checkAt + afterSeconds * 1000,
    );
    return checkAt;
  }

  /** The trip moved on from `arrived` (started, cancelled, handed back): no text for it. */
  clear(): void {
    if (this.made) this.sql.exec(`DELETE FROM arrival_sms`);
  }

  /** When the next timer rings, if one is set. */
  next(): number | null {
    if (!this.made) return null;
    return this.sql.exec<{ at: number | null }>(`SELECT MIN(check_at) AS at FROM arrival_sms`).one().at;
  }

  /**
   * Handles the timers due at `now`: queues the texts that are needed, drops the timers that are
   * done, and moves the others (a push not settled yet, a failed look) ARRIVAL_SMS_RECHECK_MS on.
   */
  async ring(room: ArrivalSmsRoom, now: number): Promise<void> {
    if (!this.made) return;
    const due = this.sql
      .exec<Timer>(`SELECT seq, check_at, give_up_waiting_at FROM arrival_sms WHERE check_at <= ?`, now)
      .toArray();
    for (const timer of due) {
      try {
        await this.ringOne(room, timer, now);
      } catch (err) {
        room.logError("arrivalSms", err);
        this.later(timer.seq, now + ARRIVAL_SMS_RECHECK_MS);
      }
    }
  }

  private async ringOne(room: ArrivalSmsRoom, timer: Timer, now: number): Promise<void> {
    // The rider opened the trip since: the app shows the arrival itself.
    if (!room.stillArrived() || room.riderConnected()) return this.done(timer.seq);
    const push = room.push(timer.seq);
    const decision = arrivalSmsDecision(
      await arrivalPushOf(room.notificationLog(), room.riderId(), push.id),
      now,
      timer.give_up_waiting_at,
    );
    if (decision === "wait") return this.later(timer.seq, now + ARRIVAL_SMS_RECHECK_MS);
    let outcome: string = decision;
    if (decision === "send") {
      // Requests may have run during the read: a cancel or a start since then deleted the timer.
      if (this.pending(timer.seq) && room.stillArrived() && !room.riderConnected())
        await enqueueNotifications(room.queue, [arrivalSmsNotification(push, room.pin(), now)]);
      else outcome = "moved_on";
    }
    // Ids and the decision only: never the number or the PIN.
    console.log(JSON.stringify({ level: "info", where: "TripRoom.arrivalSms", notificationId: push.id, outcome }));
    this.done(timer.seq);
  }

  private pending(seq: number): boolean {
    return this.sql.exec(`SELECT 1 FROM arrival_sms WHERE seq = ?`, seq).toArray().length > 0;
  }

  private later(seq: number, at: number): void {
    this.sql.exec(`UPDATE arrival_sms SET check_at = ? WHERE seq = ?`, at, seq);
  }

  private done(seq: number): void {
    this.sql.exec(`DELETE FROM arrival_sms WHERE seq = ?`, seq);
  }
}
