/**
 * @module rooms/trip-record
 * The trip's own rows in its SQLite: the state that domain/trip decides on, the quote the trip
 * was made from, and per driver the seq from which they may read the trip's log.
 */
import { createTrip, type QuoteTerms, type TripRider, TripState } from "../domain/trip";
import { ApiError } from "../errors";
import { Quote } from "../protocol/dispatch";

/**
 * What the Worker creates a trip from: its id, its rider, the quote with the terms it was priced on, and for a
 * scheduled ride its pickup time.
 */
export type NewTripInput = {
  id: string;
  riderId: string;
  quote: Quote;
  terms: QuoteTerms;
  scheduledAt?: number;
  /** The rider as their driver will see them (name and rating); absent from callers that predate it. */
  rider?: TripRider;
};

export function createRecordSchema(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS trip (id TEXT PRIMARY KEY, state TEXT NOT NULL, quote TEXT NOT NULL)`);
  // Per driver, the seq before their assignment: they may not read the log below it (replayFloor).
  sql.exec(`CREATE TABLE IF NOT EXISTS driver_floor (driver_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)`);
}

export class TripRecord {
  /**
   * The state as stored, kept in memory from the first read, and replaced by each save: the object is the only writer
   * of its SQLite, so every later read (a driver's fix, a socket's welcome, each move) needs no query. A transaction
   * that rolls back calls `forget`, as the copy may be ahead of what SQLite kept.
   */
  private current: TripState | null = null;
  /** The quote never changes once the trip exists. Memory only. */
  private quoted: Quote | null = null;

  constructor(private readonly sql: SqlStorage) {}

  exists(): boolean {
    return this.current !== null || this.sql.exec(`SELECT 1 FROM trip`).toArray().length > 0;
  }

  /** Stores the new trip, in `matching` from `now` (`scheduled` with a pickup time); returns its state. */
  insert(input: NewTripInput, now: number): TripState {
    const { id, riderId, quote, terms, scheduledAt, rider } = input;
    const state = createTrip({
      id,
      riderId,
      ...(rider === undefined ? {} : { rider }),
      pickup: quote.pickup,
      dropoff: quote.dropoff,
      quote: terms,
      now,
      ...(scheduledAt === undefined ? {} : { scheduledAt }),
    });
    this.sql.exec(
      `INSERT INTO trip (id, state, quote) VALUES (?, ?, ?)`,
      state.id,
      JSON.stringify(state),
      JSON.stringify(quote),
    );
    this.current = state;
    this.quoted = quote;
    return state;
  }

  /** The trip as stored now; 404 before it was created. */
  state(): TripState {
    if (this.current) return this.current;
    const row = this.sql.exec<{ state: string }>(`SELECT state FROM trip`).toArray()[0];
    if (!row) throw new ApiError(404, "not_found", "trip not found");
    this.current = TripState.parse(JSON.parse(row.state));
    return this.current;
  }

  save(state: TripState): void {
    this.sql.exec(`UPDATE trip SET state = ?`, JSON.stringify(state));
    this.current = state;
  }

  /** After a rolled-back transaction: the next read takes the state from SQLite again. */
  forget(): void {
    this.current = null;
  }

  quote(): Quote {
    if (this.quoted) return this.quoted;
    const row = this.sql.exec<{ quote: string }>(`SELECT quote FROM trip`).one();
    this.quoted = Quote.parse(JSON.parse(row.quote));
    return this.quoted;
  }

  /** The seq below which `driverId` may not read the log (0: all of it). */
  driverFloor(driverId: string): number {
    return (
      this.sql.exec<{ seq: number }>(`SELECT seq FROM driver_floor WHERE driver_id = ?`, driverId).toArray()[0]?.seq ??
      0
    );
  }

  /** Every driver the trip was ever assigned to (each has a floor from their assignment). */
  assignedDrivers(): string[] {
    return this.sql
      .exec<{ driver_id: string }>(`SELECT driver_id FROM driver_floor`)
      .toArray()
      .map((row) => row.driver_id);
  }

  setDriverFloor(driverId: string, seq: number): void {
    this.sql.exec(
      `INSERT INTO driver_floor (driver_id, seq) VALUES (?, ?)
       ON CONFLICT (driver_id) DO UPDATE SET seq = excluded.seq`,
      driverId,
      seq,
    );
  }
}
