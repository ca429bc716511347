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

export function createTrackSchema(sql: SqlStorage): void {
  // `received_at` is this object's clock when the fix arrived: the fare judges speeds on it, never on the phone's
  // `at`.
  sql.exec(
    `CREATE TABLE IF NOT EXISTS breadcrumb (at INTEGER PRIMARY KEY, lat REAL NOT NULL, lng REAL NOT NULL,
     received_at INTEGER)`,
  );
  // Trips made before the column existed get it here (SQLite has no ADD COLUMN IF NOT EXISTS).
  if (
    !sql
      .exec<{ name: string }>(`PRAGMA table_info(breadcrumb)`)
      .toArray()
      .some((c) => c.name === "received_at")
  ) {
    sql.exec(`ALTER TABLE breadcrumb ADD COLUMN received_at INTEGER`);
  }
  sql.exec(
    `CREATE TABLE IF NOT EXISTS last_location (id INTEGER PRIMARY KEY CHECK (id = 1),
     lat REAL NOT NULL, lng REAL NOT NULL,
     at INTEGER NOT NULL)`,
  );
}

export class TripTrack {
  /** The assigned driver's latest fix; memory only, rebuilt from the `last_location` row. */
  private lastFix: Fix | null = null;
  /** When `last_location` was last written; a fix in between lives in `lastFix` only. Memory only. */
  private lastFixSavedAt = 0;

  constructor(private readonly sql: SqlStorage) {}

  /** Takes the assigned driver's fix; `breadcrumb` when the ride is on and the fix prices it. */
  record(fix: Fix, now: number, breadcrumb: boolean): void {
    if (breadcrumb)
      this.sql.exec(
        `INSERT OR IGNORE INTO breadcrumb (at, lat, lng, received_at) VALUES (?, ?, ?, ?)`,
        fix.at,
        fix.lat,
        fix.lng,
        now,
      );
    // The position a rider sees after the room wakes; a few seconds stale at worst, and the
    // next fix replaces it. During the ride the breadcrumb above has every fix anyway.
    if (now - this.lastFixSavedAt >= LAST_FIX_SAVE_MS) {
      this.sql.exec(
        `INSERT INTO last_location (id, lat, lng, at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET lat = excluded.lat, lng = excluded.lng, at = excluded.at`,
        fix.lat,
        fix.lng,
        fix.at,
      );
      this.lastFixSavedAt = now;
    }
    this.lastFix = fix;
  }

  /** The assigned driver's latest fix, or null. */
  latest(): Fix | null {
    if (this.lastFix) return this.lastFix;
    const row = this.sql
      .exec<{ lat: number; lng: number; at: number }>(`SELECT lat, lng, at FROM last_location`)
      .toArray()[0];
    this.lastFix = row ?? null;
    return this.lastFix;
  }

  /** The last fix is the assigned driver's; it says nothing about the next one. Call inside the commit. */
  forgetDriver(): void {
    this.sql.exec(`DELETE FROM last_location`);
    this.lastFix = null;
    this.lastFixSavedAt = 0;
  }

  /** Drops the copy in memory (an ended trip needs none); the next read takes the row again. */
  dropCache(): void {
    this.lastFix = null;
  }

  /** The ride's fixes, in the order they arrived. */
  trace(): TracePoint[] {
    // A fix stored before `received_at` existed counts as received when it was taken.
    return this.sql
      .exec<TracePoint>(
        `SELECT at, lat, lng, COALESCE(received_at, at) AS receivedAt FROM breadcrumb ORDER BY receivedAt, at`,
      )
      .toArray();
  }
}
