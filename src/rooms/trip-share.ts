/**
 * @module rooms/trip-share
 * The trip's share links in its SQLite: per link its id, the SHA-256 of its secret (the secret
 * itself is handed to the rider once and kept nowhere), when it expires and whether it was
 * revoked. Also the assigned drivers' first names, which the shared view shows: the trip
 * learns them from the driver's own accept, so a viewer costs no read of the users table.
 */
import { toBase64Url, utf8 } from "../auth/encoding";
import { firstNameOf } from "../domain/trip";
import { newId } from "../ids";
import type { LazyTables } from "./lazy-tables";

const SECRET_BYTES = 32;

// Both made with their first row (rooms/lazy-tables.ts): most trips are never shared, and a trip nobody accepts
// never learns a name.
const SHARE_TABLE = `CREATE TABLE IF NOT EXISTS trip_share (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
)`;
const DRIVER_NAME_TABLE = `CREATE TABLE IF NOT EXISTS trip_driver_name (
  driver_id TEXT PRIMARY KEY, first_name TEXT NOT NULL)`;

/** A random 256-bit secret needs no salt or slow hash: there is nothing to guess. */
async function hashSecret(secret: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(secret))));
}

export type ShareLookup = { state: "live"; expiresAt: number } | { state: "ended" } | { state: "unknown" };

export class TripShares {
  private readonly sql: SqlStorage;
  /**
   * The drivers' first names as read or written, by driver id (null: none kept). Every view of an assigned trip shows
   * one, so reading it each time was a statement per fix and frame; the object is the only writer. Memory only.
   */
  private readonly names = new Map<string, string | null>();

  constructor(private readonly tables: LazyTables) {
    this.sql = tables.sql;
  }

  /** Links not revoked and not expired at `now`. */
  liveCount(now: number): number {
    if (!this.tables.has("trip_share")) return 0;
    return this.sql
      .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM trip_share WHERE revoked_at IS NULL AND expires_at > ?`, now)
      .one().n;
  }

  /**
   * A fresh secret and its hash, for `create`. Apart from it because hashing awaits: the checks
   * before a link is stored and the store itself then run in one synchronous step.
   */
  async newSecret(): Promise<{ secret: string; hash: string }> {
    const secret = toBase64Url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
    return { secret, hash: await hashSecret(secret) };
  }

  /** Stores a link for `fresh`: its id, its secret (returned this once) and its expiry. */
  create(
    fresh: { secret: string; hash: string },
    now: number,
    ttlMs: number,
  ): { id: string; secret: string; expiresAt: number } {
    const { secret, hash } = fresh;
    const id = newId("shr");
    const expiresAt = now + ttlMs;
    this.tables.ensure("trip_share", SHARE_TABLE);
    this.sql.exec(
      `INSERT INTO trip_share (id, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?)`,
      id,
      hash,
      now,
      expiresAt,
    );
    return { id, secret, expiresAt };
  }

  /** Revokes every link still working; returns how many. */
  revokeAll(now: number): number {
    if (!this.tables.has("trip_share")) return 0;
    return this.sql.exec(`UPDATE trip_share SET revoked_at = ? WHERE revoked_at IS NULL AND expires_at > ?`, now, now)
      .rowsWritten;
  }

  /** What a secret opens at `now`: a live link, one that was revoked or has expired, or nothing. */
  async lookup(secret: string, now: number): Promise<ShareLookup> {
    const hash = await hashSecret(secret);
    if (!this.tables.has("trip_share")) return { state: "unknown" };
    const row = this.sql
      .exec<{ expires_at: number; revoked_at: number | null }>(
        `SELECT expires_at, revoked_at FROM trip_share WHERE secret_hash = ?`,
        hash,
      )
      .toArray()[0];
    if (!row) return { state: "unknown" };
    if (row.revoked_at !== null || row.expires_at <= now) return { state: "ended" };
    return { state: "live", expiresAt: row.expires_at };
  }

  /** Keeps the first word of the accepting driver's name: all the shared view shows of them. */
  rememberDriver(driverId: string, name: string): void {
    const firstName = firstNameOf(name, "Your driver");
    this.tables.ensure("trip_driver_name", DRIVER_NAME_TABLE);
    this.sql.exec(
      `INSERT INTO trip_driver_name (driver_id, first_name) VALUES (?, ?)
       ON CONFLICT (driver_id) DO UPDATE SET first_name = excluded.first_name`,
      driverId,
      firstName,
    );
    this.names.set(driverId, firstName);
  }

  driverFirstName(driverId: string): string | null {
    const known = this.names.get(driverId);
    if (known !== undefined) return known;
    const read = this.tables.has("trip_driver_name")
      ? (this.sql
          .exec<{ first_name: string }>(`SELECT first_name FROM trip_driver_name WHERE driver_id = ?`, driverId)
          .toArray()[0]?.first_name ?? null)
      : null;
    this.names.set(driverId, read);
    return read;
  }

  /** Drops the names in memory (a transaction rolled back, and may have taken a write with it). */
  forget(): void {
    this.names.clear();
  }
}
