/**
 * @module rooms/trip-driver-card
 * What the trip shows its rider of the assigned driver, from acceptance on (README, "Drivers and
 * vehicles"): first name, rating, car, and whether there is a photo to fetch. The rating, car and
 * photo come with each driver's reservation (their session answers them), so an accept costs no
 * read of D1 nor another call; the first name comes with the accept itself (rooms/trip-share.ts
 * keeps it). Kept per driver in the trip's SQLite: a trip handed back and taken by another driver
 * shows the new one.
 */
import type { TripDriver } from "../protocol/vehicles";
import { TripVehicle } from "../protocol/vehicles";
import type { ReservedDriver } from "./driver-record";
import type { LazyTables } from "./lazy-tables";

/** Made with the first reservation (rooms/lazy-tables.ts): a trip that finds no driver never needs it. */
const DRIVER_CARD_TABLE = `CREATE TABLE IF NOT EXISTS trip_driver_card (
  driver_id TEXT PRIMARY KEY, rating REAL, vehicle TEXT, photo_id TEXT)`;

type CardRow = { rating: number | null; vehicle: string | null; photo_id: string | null };

export class TripDriverCards {
  private readonly sql: SqlStorage;
  /**
   * The rows as read or written, by driver id (null: none). Every view of an assigned trip (each fix sent to the
   * rider, each status frame) shows the card, so reading it each time was a statement per view; the object is the
   * only writer. Memory only.
   */
  private readonly rows = new Map<string, CardRow | null>();

  constructor(private readonly tables: LazyTables) {
    this.sql = tables.sql;
  }

  /** What a reservation of `driverId` answered; a later reservation of the same driver replaces it. */
  note(driverId: string, driver: ReservedDriver): void {
    this.tables.ensure("trip_driver_card", DRIVER_CARD_TABLE);
    // Read again on the next view: the row is what SQLite keeps, not what was meant to be written.
    this.rows.delete(driverId);
    this.sql.exec(
      `INSERT INTO trip_driver_card (driver_id, rating, vehicle, photo_id) VALUES (?, ?, ?, ?)
       ON CONFLICT (driver_id) DO UPDATE SET rating = excluded.rating, vehicle = excluded.vehicle,
       photo_id = excluded.photo_id`,
      driverId,
      driver.rating,
      driver.vehicle === null ? null : JSON.stringify(driver.vehicle),
      driver.photoId,
    );
  }

  /** The card of the assigned driver, with the first name they accepted under. */
  card(driverId: string, firstName: string): TripDriver {
    const row = this.row(driverId);
    const vehicle = row?.vehicle ? TripVehicle.safeParse(JSON.parse(row.vehicle)) : null;
    return {
      firstName,
      rating: row?.rating ?? null,
      vehicle: vehicle?.success ? vehicle.data : null,
      photo: (row?.photo_id ?? null) !== null,
    };
  }

  /** The id of the driver's approved photo (a document) as their reservation carried it; null for none. */
  photoId(driverId: string): string | null {
    return this.row(driverId)?.photo_id ?? null;
  }

  private row(driverId: string): CardRow | null {
    const known = this.rows.get(driverId);
    if (known !== undefined) return known;
    const read = this.tables.has("trip_driver_card")
      ? (this.sql
          .exec<CardRow>(`SELECT rating, vehicle, photo_id FROM trip_driver_card WHERE driver_id = ?`, driverId)
          .toArray()[0] ?? null)
      : null;
    this.rows.set(driverId, read);
    return read;
  }

  /** Drops the rows in memory (a transaction rolled back, and may have taken a write with it). */
  forget(): void {
    this.rows.clear();
  }
}
