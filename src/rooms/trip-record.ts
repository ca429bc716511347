/**
 * @module rooms/trip-record
 * The trip's own rows in its SQLite: the state that domain/trip decides on, the quote the trip
 * was made from, and per driver the seq from which they may read the trip's log.
 */
import { createTrip, type QuoteTerms, TripState } from "../domain/trip";
import { ApiError } from "../errors";
import { Quote } from "../protocol/dispatch";

/** What the Worker creates a trip from: its id, its rider, and the quote with the terms it was priced on. */
export type NewTripInput = { id: string; riderId: string; quote: Quote; terms: QuoteTerms };

export function createRecordSchema(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS trip (id TEXT PRIMARY KEY, state TEXT NOT NULL, quote TEXT NOT NULL)`);
  // Per driver, the seq before their assignment: they may not read the log below it (replayFloor).
  sql.exec(`CREATE TABLE IF NOT EXISTS driver_floor (driver_id TEXT PRIMARY KEY, seq INTEGER NOT NULL)`);
}

export class TripRecord {
  /**
   * The stored state and quote as last parsed, keyed by their JSON text: a read re-parses only what changed. Memory
   * only.
   */
  private parsedState: { text: string; value: TripState } | null = null;
  private parsedQuote: { text: string; value: Quote } | null = null;

  constructor(private readonly sql: SqlStorage) {}

  exists(): boolean {
    return this.sql.exec(`SELECT 1 FROM trip`).toArray().length > 0;
  }

  /** Stores the new trip, in `matching` from `now`; returns its state. */
  insert(input: NewTripInput, now: number): TripState {
    const { id, riderId, quote, terms } = input;
    const state = createTrip({ id, riderId, pickup: quote.pickup, dropoff: quote.dropoff, quote: terms, now });
    this.sql.exec(
      `INSERT INTO trip (id, state, quote) VALUES (?, ?, ?)`,
      state.id,
      JSON.stringify(state),
      JSON.stringify(quote),
    );
    return state;
  }

  /** The trip as stored now; 404 before it was created. */
  state(): TripState {
    const row = this.sql.exec<{ state: string }>(`SELECT state FROM trip`).toArray()[0];
    if (!row) throw new ApiError(404, "not_found", "trip not found");
    if (this.parsedState?.text !== row.state)
      this.parsedState = { text: row.state, value: TripState.parse(JSON.parse(row.state)) };
    return this.parsedState.value;
  }

  save(state: TripState): void {
    this.sql.exec(`UPDATE trip SET state = ?`, JSON.stringify(state));
  }

  quote(): Quote {
    const row = this.sql.exec<{ quote: string }>(`SELECT quote FROM trip`).one();
    if (this.parsedQuote?.text !== row.quote)
      this.parsedQuote = { text: row.quote, value: Quote.parse(JSON.parse(row.quote)) };
    return this.parsedQuote.value;
  }

  /** The seq below which `driverId` may not read the log (0: all of it). */
  driverFloor(driverId: string): number {
    return (
      this.sql.exec<{ seq: number }>(`SELECT seq FROM driver_floor WHERE driver_id = ?`, driverId).toArray()[0]?.seq ??
      0
    );
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
