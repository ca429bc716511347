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

export function createDriverCardSchema(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS trip_driver_card (
    driver_id TEXT PRIMARY KEY, rating REAL, vehicle TEXT, photo_id TEXT)`);
}

export class TripDriverCards {
  constructor(private readonly sql: SqlStorage) {}

  /** What a reservation of `driverId` answered; a later reservation of the same driver replaces it. */
  note(driverId: string, driver: ReservedDriver): void {
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

  private row(driverId: string) {
    return this.sql
      .exec<{ rating: number | null; vehicle: string | null; photo_id: string | null }>(
        `SELECT rating, vehicle, photo_id FROM trip_driver_card WHERE driver_id = ?`,
        driverId,
      )
      .toArray()[0];
  }
}
