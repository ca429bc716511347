/**
 * @module rooms/trip-pin
 * The trip's PIN in its SQLite, apart from the trip's state: the state goes into status frames,
 * the log and D1's history, which the driver reads; the PIN must reach the rider alone. A trip
 * with no row needs no PIN (its area does not ask for one, or it was made before PINs).
 */
import { ApiError } from "../errors";
import { checkPin, newPin, NO_LOCK, type PinLock, type PinRules } from "../domain/trip-pin";
import type { LazyTables } from "./lazy-tables";

/** Made with the PIN (rooms/lazy-tables.ts): a trip whose area asks for none never needs it. */
const PIN_TABLE = `CREATE TABLE IF NOT EXISTS trip_pin (
  pin TEXT NOT NULL,
  failures INTEGER NOT NULL,
  lockouts INTEGER NOT NULL,
  locked_until INTEGER NOT NULL
)`;

type PinRow = { pin: string; failures: number; lockouts: number; locked_until: number };

export class TripPin {
  /** The PIN as last read (null: the trip needs none); it never changes once issued. Memory only. */
  private readPin: string | null | undefined = undefined;

  private readonly sql: SqlStorage;

  constructor(private readonly tables: LazyTables) {
    this.sql = tables.sql;
  }

  /** Gives the trip a fresh random PIN (once: a repeated create keeps the first). */
  issue(): void {
    if (this.row()) return;
    this.tables.ensure("trip_pin", PIN_TABLE);
    this.sql.exec(
      `INSERT INTO trip_pin (pin, failures, lockouts, locked_until) VALUES (?, ?, ?, ?)`,
      newPin(),
      NO_LOCK.failures,
      NO_LOCK.lockouts,
      NO_LOCK.lockedUntil,
    );
  }

  /** The PIN, for the rider's view; null when the trip needs none. */
  pin(): string | null {
    if (this.readPin === undefined) this.readPin = this.row()?.pin ?? null;
    return this.readPin;
  }

  /**
   * Lets the driver's `start` through, or throws `pin_required`, `wrong_pin` or `pin_locked`
   * after storing what the guess cost. Only the assigned driver of an arrived trip gets here,
   * so nobody else can spend the trip's guesses and lock its driver out.
   */
  check(given: string | undefined, now: number, rules: PinRules): void {
    const row = this.row();
    if (!row) return;
    const lock: PinLock = { failures: row.failures, lockouts: row.lockouts, lockedUntil: row.locked_until };
    const result = checkPin(row.pin, given, lock, now, rules);
    this.sql.exec(
      `UPDATE trip_pin SET failures = ?, lockouts = ?, locked_until = ?`,
      result.lock.failures,
      result.lock.lockouts,
      result.lock.lockedUntil,
    );
    if (result.ok) return;
    switch (result.code) {
      case "pin_required":
        throw new ApiError(400, "pin_required", "this trip starts with the PIN the rider can see");
      case "wrong_pin":
        throw new ApiError(403, "wrong_pin", "that is not this trip's PIN", { attemptsLeft: result.attemptsLeft });
      case "pin_locked": {
        const retryAfterSeconds = Math.ceil(result.retryAfterMs / 1000);
        throw new ApiError(
          429,
          "pin_locked",
          "too many wrong PINs; wait before trying again",
          { retryAfterSeconds },
          retryAfterSeconds,
        );
      }
    }
  }

  private row(): PinRow | undefined {
    if (!this.tables.has("trip_pin")) return undefined;
    return this.sql.exec<PinRow>(`SELECT pin, failures, lockouts, locked_until FROM trip_pin`).toArray()[0];
  }
}
