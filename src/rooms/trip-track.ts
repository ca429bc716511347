/**
 * @module rooms/trip-track
 * Where the trip's assigned driver has been, in the trip's SQLite: their latest position (shown
 * to the rider with an ETA, and checked when they say they arrived) and, during the ride, the
 * breadcrumb the final fare is priced on. Neither ever reaches the trip's log or D1.
 */
import type { TracePoint } from "../domain/fare";
import type { Fix } from "../domain/geo";

/** How often the assigned driver's latest fix is written to `last_location`. */
const LAST_FIX_SAVE_MS = 5_000;
/**
 * Breadcrumb fixes written to SQLite together: one INSERT of several rows costs about what one row
 * did, and a ride's fixes come every 2-5 s. Those in memory are lost only if the object is evicted
 * mid-ride with fixes pending (it stays in memory while fixes arrive); the fare then prices that
 * stretch as the straight line between the fixes it kept.
 */
const BREADCRUMB_BATCH = 5;

/** `fresh`: the trip is being created, so the tables are made now with every column. */
export function createTrackSchema(sql: SqlStorage, fresh: boolean): void {
  // `received_at` is this object's clock when the fix arrived: the fare judges speeds on it, never on the phone's
  // `at`.
  sql.exec(
    `CREATE TABLE IF NOT EXISTS breadcrumb (at INTEGER PRIMARY KEY, lat REAL NOT NULL, lng REAL NOT NULL,
     received_at INTEGER)`,
  );
  // Trips made before the column existed get it here (SQLite has no ADD COLUMN IF NOT EXISTS).
  if (
    !fresh &&
    !sql
      .exec<{ name: string }>(`PRAGMA table_info(breadcrumb)`)
      .toArray()
      .some((c) => c.name === "received_at")
  ) {
    sql.exec(`ALTER TABLE breadcrumb ADD COLUMN received_at INTEGER`);
  }
  // `received_at`, this object's clock again: the watchdog (domain/trip-watchdog) judges a driver's silence on it.
  sql.exec(
    `CREATE TABLE IF NOT EXISTS last_location (id INTEGER PRIMARY KEY CHECK (id = 1),
     lat REAL NOT NULL, lng REAL NOT NULL,
     at INTEGER NOT NULL, received_at INTEGER)`,
  );
  if (
    !fresh &&
    !sql
      .exec<{ name: string }>(`PRAGMA table_info(last_location)`)
      .toArray()
      .some((c) => c.name === "received_at")
  ) {
    sql.exec(`ALTER TABLE last_location ADD COLUMN received_at INTEGER`);
  }
}

export class TripTrack {
  /** The assigned driver's latest fix (null: none); memory only, read from `last_location` when undefined. */
  private lastFix: Fix | null | undefined = undefined;
  /** When the latest fix arrived, on this object's clock (null: none); read with `lastFix`. */
  private lastFixReceivedAt: number | null = null;
  /** When `last_location` was last written; a fix in between lives in `lastFix` only. Memory only. */
  private lastFixSavedAt = 0;
  /** Breadcrumb fixes not yet in SQLite (see BREADCRUMB_BATCH). Memory only. */
  private pendingCrumbs: TracePoint[] = [];

  constructor(private readonly sql: SqlStorage) {}

  /** Takes the assigned driver's fix; `breadcrumb` when the ride is on and the fix prices it. */
  record(fix: Fix, now: number, breadcrumb: boolean): void {
    if (breadcrumb) {
      this.pendingCrumbs.push({ at: fix.at, lat: fix.lat, lng: fix.lng, receivedAt: now });
      if (this.pendingCrumbs.length >= BREADCRUMB_BATCH) this.saveCrumbs();
    }
    // The position a rider sees after the room wakes; a few seconds stale at worst, and the
    // next fix replaces it. During the ride the breadcrumb above has every fix anyway.
    if (now - this.lastFixSavedAt >= LAST_FIX_SAVE_MS) {
      this.sql.exec(
        `INSERT INTO last_location (id, lat, lng, at, received_at) VALUES (1, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET lat = excluded.lat, lng = excluded.lng, at = excluded.at,
         received_at = excluded.received_at`,
        fix.lat,
        fix.lng,
        fix.at,
        now,
      );
      this.lastFixSavedAt = now;
    }
    this.lastFix = fix;
    this.lastFixReceivedAt = now;
  }

  /** The assigned driver's latest fix, or null. */
  latest(): Fix | null {
    if (this.lastFix !== undefined) return this.lastFix;
    const row = this.sql
      .exec<{ lat: number; lng: number; at: number; receivedAt: number }>(
        // A row stored before `received_at` existed counts as received when the fix was taken.
        `SELECT lat, lng, at, COALESCE(received_at, at) AS receivedAt FROM last_location`,
      )
      .toArray()[0];
    this.lastFix = row ? { lat: row.lat, lng: row.lng, at: row.at } : null;
    this.lastFixReceivedAt = row?.receivedAt ?? null;
    return this.lastFix;
  }

  /**
   * When the assigned driver's latest fix arrived (this object's clock), or null: no fix since they were assigned.
   * After the object wakes it is the stored row's, up to LAST_FIX_SAVE_MS older than the truth.
   */
  lastFixAt(): number | null {
    this.latest();
    return this.lastFixReceivedAt;
  }

  /** The last fix is the assigned driver's; it says nothing about the next one. Call inside the commit. */
  forgetDriver(): void {
    this.sql.exec(`DELETE FROM last_location`);
    this.lastFix = null;
    this.lastFixReceivedAt = null;
    this.lastFixSavedAt = 0;
  }

  /** Drops the copy in memory (an ended trip needs none); the next read takes the row again. */
  dropCache(): void {
    this.lastFix = undefined;
  }

  /** Writes the breadcrumb fixes held in memory, in one statement. */
  private saveCrumbs(): void {
    const crumbs = this.pendingCrumbs;
    if (crumbs.length === 0) return;
    const rows = crumbs.map(() => "(?, ?, ?, ?)").join(", ");
    this.sql.exec(
      `INSERT OR IGNORE INTO breadcrumb (at, lat, lng, received_at) VALUES ${rows}`,
      ...crumbs.flatMap((c) => [c.at, c.lat, c.lng, c.receivedAt]),
    );
    this.pendingCrumbs = [];
  }

  /** The ride's fixes, in the order they arrived. */
  trace(): TracePoint[] {
    this.saveCrumbs();
    // A fix stored before `received_at` existed counts as received when it was taken.
    return this.sql
      .exec<TracePoint>(
        `SELECT at, lat, lng, COALESCE(received_at, at) AS receivedAt FROM breadcrumb ORDER BY receivedAt, at`,
      )
      .toArray();
  }
}
