/**
 * @module rooms/sequenced-log
 * The part of a room that keeps its history, composed by the rooms that have one (chat rooms
 * and trips): events appended with a gapless seq, commands applied once, replay for resuming
 * connections, and the write-behind copy of events to D1 on the object's alarm, with retention
 * once they are there. Storage is the object's own SQLite (event-log.ts, commands.ts); the room
 * sends what it appends (the log never touches a socket) and says how to copy a batch to D1.
 */
import type { Config } from "../config";
import { Commands } from "./commands";
import { EventLog, type StoredEvent } from "./event-log";
import type { ReadableLog } from "./resume";

/** An appended event: its seq and the exact text to send and to replay. */
export type Appended = { seq: number; text: string };

/** What the log needs of the room that holds it. */
export type LogHost = {
  config: Config;
  /** Makes sure the object's alarm fires no later than `at` (epoch ms). */
  wakeAt(at: number): void;
  /** Copies a batch of events to D1; must be idempotent (it may run twice). */
  writeBehind(events: StoredEvent[]): Promise<void>;
  logError(where: string, err: unknown): void;
};

/** The log may outgrow its retention by this share (at least TRIM_MIN_SLACK events) before a trim. */
const TRIM_SLACK = 0.1;
const TRIM_MIN_SLACK = 100;
const MAX_OUTBOX_RETRY_MS = 60_000;

/**
 * How long an event waits for its copy to D1 in a room whose writes are spread (chat): between half
 * of `delayMs` and all of it, each room object at its own `share` (0..1) of that range. Rooms that
 * got busy together (a city's morning, a benchmark's start) would otherwise keep copying in the same
 * instant of every beat, and D1, and on one machine the whole process, would see their flushes as
 * one burst; half a beat still gathers a busy room's messages into one write.
 */
export function spreadDelay(delayMs: number, share: number): number {
  return Math.round(delayMs * (1 - Math.min(Math.max(share, 0), 1) / 2));
}

export class SequencedLog<Frame extends { type: string; seq: number }> implements ReadableLog {
  private readonly events: EventLog;
  readonly commands: Commands;
  /** Consecutive failed write-behind attempts; sets the retry backoff. Memory only. */
  private outboxFailures = 0;
  /** This object's share of the spread write-behind delay (spreadDelay); a new one after an eviction is as good. */
  private readonly spreadShare = Math.random();

  /** `fresh`: the room is being created, so its tables need no check for older columns. */
  constructor(
    storage: DurableObjectStorage,
    private readonly host: LogHost,
    fresh = false,
  ) {
    this.events = new EventLog(storage, fresh);
    this.commands = new Commands(storage, fresh);
  }

  /** True when `storage` already holds a log: the room was created (nothing is written to find out). */
  static existsIn(storage: DurableObjectStorage): boolean {
    return (
      storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'`).toArray().length > 0
    );
  }

  get lastSeq(): number {
    return this.events.lastSeq;
  }

  get firstSeq(): number {
    return this.events.firstSeq;
  }

  after(since: number): Iterable<StoredEvent> {
    return this.events.after(since);
  }

  /** Newest first, seq < before; only frames of `frameType` when given. */
  before(before: number, limit: number, frameType?: Frame["type"]): StoredEvent[] {
    return this.events.before(before, limit, frameType);
  }

  /**
   * Appends an event for D1 and asks the alarm to copy it: after `delayMs` (OUTBOX_FLUSH_DELAY_MS
   * unless the caller names its own: a longer one for an active trip's moves), or with `spread`
   * (chat, MESSAGE_ARCHIVE_DELAY_MS) after this room's share of it (spreadDelay), so that one
   * flush carries many events; or at once when a whole batch is waiting. An alarm set earlier for
   * another reason copies it then. The caller sends it.
   */
  append(build: (seq: number) => Frame, delayMs = this.host.config.OUTBOX_FLUSH_DELAY_MS, spread = false): Appended {
    const now = Date.now();
    const appended = this.events.append(build, now, true);
    const { OUTBOX_BATCH_SIZE } = this.host.config;
    const wait = spread ? spreadDelay(delayMs, this.spreadShare) : delayMs;
    this.host.wakeAt(this.events.pendingCount >= OUTBOX_BATCH_SIZE ? now : now + wait);
    return appended;
  }

  /** When the alarm must come after the object wakes: now, if events still wait for D1. */
  wakeNeeded(now: number): number | null {
    return this.events.pendingCount > 0 ? now + this.host.config.OUTBOX_FLUSH_DELAY_MS : null;
  }

  /** The alarm's share: copy the outbox, trim, sweep old command ids. Returns when to retry a failed copy. */
  async onAlarm(now: number): Promise<number | null> {
    const retryAt = await this.drainOutbox();
    this.keepRetention();
    this.commands.sweep(now);
    return retryAt;
  }

  /**
   * Copies the outbox to D1 in batches, up to the events stored when the alarm began; returns
   * when to try again after a failure. Events stored while a batch is in flight set their own
   * alarm and wait for it, so a busy room writes one batch per beat, not a trailing one too.
   */
  private async drainOutbox(): Promise<number | null> {
    const upTo = this.events.lastSeq;
    for (;;) {
      const batch = this.events.pendingOutbox(this.host.config.OUTBOX_BATCH_SIZE);
      if (batch.events.length === 0) {
        // Nothing to copy, but the watermark may still pass events never meant for D1.
        this.events.markFlushed(batch);
        break;
      }
      try {
        await this.host.writeBehind(batch.events);
      } catch (err) {
        this.outboxFailures++;
        this.host.logError("writeBehind", err);
        const delay = Math.min(MAX_OUTBOX_RETRY_MS, 1_000 * 2 ** (this.outboxFailures - 1));
        return Date.now() + delay;
      }
      this.outboxFailures = 0;
      this.events.markFlushed(batch);
      if (batch.through >= upTo) break;
    }
    return null;
  }

  /** Trims the log back to its retention once it is over by a margin: a slice now and then, not a row per alarm. */
  private keepRetention(): void {
    const keep = this.host.config.ROOM_RETENTION_EVENTS;
    if (this.events.size > keep + Math.max(TRIM_MIN_SLACK, Math.ceil(keep * TRIM_SLACK))) this.events.trim(keep);
  }
}
