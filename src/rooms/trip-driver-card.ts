/**
 * @module rooms/trip-driver-card
 * What the trip shows its rider of the assigned driver, from acceptance on (README, "Drivers and
 * vehicles"): first name, rating and car. The rating and car come with each driver's reservation
 * (their session answers them), so an accept costs no read of D1 nor another call; the first name
 * comes with the accept itself (rooms/trip-share.ts keeps it). Kept per driver in the trip's
 * SQLite: a trip handed back and taken by another driver shows the new one.
 */
import type { TripDriver } from "../protocol/vehicles";
import { TripVehicle } from "../protocol/vehicles";
import type { ReservedDriver } from "./driver-record";

export function createDriverCardSchema(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS trip_driver_card (driver_id TEXT PRIMARY KEY, rating REAL, vehicle TEXT)`);
}

export class TripDriverCards {
  constructor(private readonly sql: SqlStorage) {}

  /** What a reservation of `driverId` answered; a later reservation of the same driver replaces it. */
  note(driverId: string, driver: ReservedDriver): void {
    this.sql.exec(
      `INSERT INTO trip_driver_card (driver_id, rating, vehicle) VALUES (?, ?, ?)
       ON CONFLICT (driver_id) DO UPDATE SET rating = excluded.rating, vehicle = excluded.vehicle`,
      driverId,
      driver.rating,
      driver.vehicle === null ? null : JSON.stringify(driver.vehicle),
    );
  }

  /** The card of the assigned driver, with the first name they accepted under. */
  card(driverId: string, firstName: string): TripDriver {
    const row = this.sql
      .exec<{ rating: number | null; vehicle: string | null }>(
        `SELECT rating, vehicle FROM trip_driver_card WHERE driver_id = ?`,
        driverId,
      )
      .toArray()[0];
    const vehicle = row?.vehicle ? TripVehicle.safeParse(JSON.parse(row.vehicle)) : null;
    return { firstName, rating: row?.rating ?? null, vehicle: vehicle?.success ? vehicle.data : null };
  }
}
