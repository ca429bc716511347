/**
 * @module db/holds
 * A trip's fare on hold on the rider's wallet: holding it when the trip is requested (refused
 * when the wallet's available balance does not cover it), what is held for a trip, and giving
 * it back when the request fails after the hold.
 */
import type { Money } from "../domain/fare";
import { Account } from "../domain/ledger-entries";
import { holdEntry, releaseEntry } from "../domain/wallet-entries";
import { postEntriesWith, postEntry } from "./postings";
import type { SqlCondition } from "./sql-condition";
import { walletOf } from "./wallet-views";

export const heldStatement = (d1: D1Database, tripId: string, riderId: string, currency: string) =>
  d1
    .prepare(
      `SELECT COALESCE(SUM(l.amount), 0) AS held
       FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id
       WHERE e.trip_id = ? AND l.account_id = ? AND l.currency = ?`,
    )
    .bind(tripId, Account.hold(riderId), currency);

/** What is on hold for one trip: its lines on the rider's hold account. */
export async function heldFor(d1: D1Database, tripId: string, riderId: string, currency: string): Promise<Money> {
  const row = await heldStatement(d1, tripId, riderId, currency).first<{ held: number }>();
  return { amount: row?.held ?? 0, currency };
}

/**
 * What came of holding a fare: held (with the results of `then`'s statements), or refused
 * because the wallet's available balance does not cover it.
 */
export type HoldOutcome = { held: true; extra: D1Result[] } | { held: false; needed: Money; available: Money };

/**
 * Holds a trip's fare on the rider's wallet, unless the wallet does not cover it.
 * `then(holdPosted)` builds statements that run in the same transaction right after the hold,
 * given an SQL condition that is true only if the hold was posted: the trip request claims the
 * rider's slot this way, one D1 round trip for both. Their results come back in `extra`.
 */
export async function holdFare(
  d1: D1Database,
  tripId: string,
  riderId: string,
  amount: Money,
  now: number,
  then: (holdPosted: SqlCondition) => D1PreparedStatement[] = () => [],
): Promise<HoldOutcome> {
  if (amount.amount <= 0) {
    const statements = then({ sql: "1", params: [] });
    return { held: true, extra: statements.length === 0 ? [] : await d1.batch(statements) };
  }
  const entry = holdEntry(tripId, riderId, amount);
  const { outcomes, extra } = await postEntriesWith(
    d1,
    [entry],
    now,
    then({ sql: "EXISTS (SELECT 1 FROM journal_entries WHERE idempotency_key = ?)", params: [entry.key] }),
  );
  if (outcomes[0] === "refused") {
    const wallet = await walletOf(d1, riderId, amount.currency);
    return { held: false, needed: amount, available: wallet.available };
  }
  return { held: true, extra };
}

/** Gives a trip's hold back (a request that failed after the hold). */
export async function releaseHold(
  d1: D1Database,
  tripId: string,
  riderId: string,
  currency: string,
  now: number,
): Promise<void> {
  const release = releaseEntry(tripId, riderId, await heldFor(d1, tripId, riderId, currency));
  if (release) await postEntry(d1, release, now);
}
