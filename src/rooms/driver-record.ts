/**
 * @module rooms/driver-record
 * The driver's row in their session's SQLite, with the copy in memory that location fixes
 * update: a fix is the hot path (one every few seconds per driver), so it reaches SQLite with
 * the next cell report, the next other write, or LOCATION_SAVE_MS later.
 */
import type { Fix } from "../domain/geo";
import type { Candidate } from "../domain/matching";
import type { Driver, DriverStatus } from "../protocol/dispatch";
import { TripVehicle } from "../protocol/vehicles";

/** What the Worker read from D1 of what a driver may show their riders: their approved car and photo. */
export type DriverProfile = { vehicle: TripVehicle | null; photoId: string | null };

/** The driver as a trip that reserved them keeps them for its rider (the first name comes with the accept). */
export type ReservedDriver = { rating: number | null } & DriverProfile;

export type DriverRow = {
  id: string;
  status: DriverStatus;
  trip_id: string | null;
  lat: number | null;
  lng: number | null;
  location_at: number | null;
  cell: string | null;
  cell_reported_at: number;
  rating: number | null;
  /** Lifetime counts, kept for the record; matching uses `recent_acceptance`. */
  offers_made: number;
  offers_accepted: number;
  /** Acceptance of recent offers: an exponentially weighted average of 1 (accepted) and 0 (declined or let expire). */
  recent_acceptance: number | null;
  disconnected_at: number | null;
  /** The offer the driver was shown: only one its trip has recorded. Null while reserved and not yet shown. */
  offer: string | null;
  /**
   * The approved vehicle the driver went online with (TripVehicle as JSON), which a trip that
   * reserves them shows its rider from acceptance on; null when they went online without one.
   */
  vehicle: string | null;
  /** The id of the driver's approved photo (a document), which their trips let their riders read; null for none. */
  photo_id: string | null;
  /** 1: the driver also takes the lower tiers their vehicle's tier accepts (README, "Tiers"), as they went online. */
  accept_lower_tiers: number;
};

/**
 * The SQL that moves recent acceptance towards `x` (1 accepted, 0 not): each answer weighs 20%,
 * so the last ten or so offers decide it, and a driver's old habits fade.
 */
export const RECENT_ACCEPTANCE = (x: 0 | 1) =>
  `CASE WHEN recent_acceptance IS NULL THEN ${x} ELSE recent_acceptance + 0.2 * (${x} - recent_acceptance) END`;

/**
 * How long the newest fix may live in memory only; see `DriverRecord`. A streaming driver keeps
 * the object awake, and after an eviction their next fix replaces the lost ones: the saved fix
 * only needs to be fresh enough for `reserve` (DRIVER_STALE_MS) and for the speed check.
 */
const LOCATION_SAVE_MS = 30_000;

export function createDriverSchema(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS driver (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, trip_id TEXT, lat REAL, lng REAL, location_at INTEGER,
    cell TEXT, cell_reported_at INTEGER NOT NULL DEFAULT 0, rating REAL,
    offers_made INTEGER NOT NULL DEFAULT 0, offers_accepted INTEGER NOT NULL DEFAULT 0,
    disconnected_at INTEGER, offer TEXT, recent_acceptance REAL, vehicle TEXT, photo_id TEXT,
    accept_lower_tiers INTEGER NOT NULL DEFAULT 0)`);
  // Objects made before a column existed get it here (SQLite has no ADD COLUMN IF NOT EXISTS).
  const columns = sql.exec<{ name: string }>(`PRAGMA table_info(driver)`).toArray();
  if (!columns.some((c) => c.name === "recent_acceptance"))
    sql.exec(`ALTER TABLE driver ADD COLUMN recent_acceptance REAL`);
  if (!columns.some((c) => c.name === "vehicle")) sql.exec(`ALTER TABLE driver ADD COLUMN vehicle TEXT`);
  if (!columns.some((c) => c.name === "photo_id")) sql.exec(`ALTER TABLE driver ADD COLUMN photo_id TEXT`);
  if (!columns.some((c) => c.name === "accept_lower_tiers"))
    sql.exec(`ALTER TABLE driver ADD COLUMN accept_lower_tiers INTEGER NOT NULL DEFAULT 0`);
}

export class DriverRecord {
  /**
   * The driver's row, read from SQLite once after waking and replaced by what every `write`
   * returns. A fix updates only this copy; an eviction before it is saved loses at most
   * LOCATION_SAVE_MS of the track, which the next fix replaces.
   */
  private current: DriverRow | null = null;
  /** Whether `current` holds a fix that SQLite does not have yet. Memory only. */
  private locationDirty = false;
  /** When a fix last reached SQLite. Memory only. */
  private locationSavedAt = 0;

  constructor(private readonly sql: SqlStorage) {}

  row(): DriverRow {
    if (this.current) return this.current;
    const row = this.sql.exec<DriverRow>(`SELECT * FROM driver`).toArray()[0];
    if (!row) throw new Error("driver session has no record");
    this.current = row;
    return row;
  }

  /**
   * Every write but a fix's: one statement on the driver's row (an UPDATE, or the INSERT that makes it), whose
   * `RETURNING *` is the row as it now stands, so no read follows. The newest fix goes first so that the row keeps it.
   */
  write(query: string, ...bindings: (string | number | null)[]): void {
    this.saveLocation(Date.now());
    this.current = this.sql.exec<DriverRow>(`${query} RETURNING *`, ...bindings).toArray()[0] ?? null;
  }

  /** Takes a fix into the copy in memory; returns the row as it now stands. */
  holdFix(fix: Fix): DriverRow {
    this.current = { ...this.row(), lat: fix.lat, lng: fix.lng, location_at: fix.at };
    this.locationDirty = true;
    return this.current;
  }

  /** Saves the fix held in memory once LOCATION_SAVE_MS passed since the last save. */
  saveLocationIfDue(now: number): void {
    if (this.locationDirty && now - this.locationSavedAt >= LOCATION_SAVE_MS) this.saveLocation(now);
  }

  /**
   * A report to the geo index from `row`: the copy in memory names its cell; `store` writes it at
   * once with the fix it carried (one write), so that SQLite always names the cell to leave.
   */
  noteCellReport(row: DriverRow, cell: string, now: number, store: boolean): void {
    if (this.current) this.current = { ...this.current, cell, cell_reported_at: now };
    if (!store) return;
    this.sql.exec(
      `UPDATE driver SET cell = ?, cell_reported_at = ?, lat = ?, lng = ?, location_at = ?`,
      cell,
      now,
      row.lat,
      row.lng,
      row.location_at,
    );
    this.locationDirty = false;
    this.locationSavedAt = now;
  }

  /** Brings SQLite up to the newest fix held in memory. */
  private saveLocation(now: number): void {
    const row = this.current;
    if (!row || !this.locationDirty) return;
    this.sql.exec(`UPDATE driver SET lat = ?, lng = ?, location_at = ?`, row.lat, row.lng, row.location_at);
    this.locationDirty = false;
    this.locationSavedAt = now;
  }
}

/** The driver's last fix, or null before their first. */
export function lastFixOf(row: DriverRow): Fix | null {
  const { lat, lng, location_at: at } = row;
  return lat !== null && lng !== null && at !== null ? { lat, lng, at } : null;
}

/** The driver as the geo index ranks them, or null when they have no position. */
export function candidateOf(row: DriverRow): Candidate | null {
  const fix = lastFixOf(row);
  if (!fix) return null;
  return {
    driverId: row.id,
    location: { lat: fix.lat, lng: fix.lng },
    locationAt: fix.at,
    rating: row.rating,
    acceptanceRate: row.recent_acceptance,
  };
}

/** The tier of the vehicle the driver went online with, or null without one. */
export function vehicleTierOf(row: DriverRow): string | null {
  if (row.vehicle === null) return null;
  const vehicle = TripVehicle.safeParse(JSON.parse(row.vehicle));
  return vehicle.success ? vehicle.data.tier : null;
}

/** What a trip that reserves the driver learns of them for its rider: their rating and car. */
export function reservedProfileOf(row: DriverRow): ReservedDriver {
  const vehicle = row.vehicle === null ? null : TripVehicle.safeParse(JSON.parse(row.vehicle));
  return { rating: row.rating, vehicle: vehicle?.success ? vehicle.data : null, photoId: row.photo_id };
}

export function driverView(row: DriverRow, connected: boolean): Driver {
  return {
    id: row.id,
    status: row.status,
    tripId: row.trip_id,
    location: row.lat !== null && row.lng !== null ? { lat: row.lat, lng: row.lng } : null,
    locationAt: row.location_at,
    connected,
  };
}
