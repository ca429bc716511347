/**
 * @module db/holds
 * A trip's fare on hold on the rider's wallet, in the rider's partition (db/postings.ts): holding
 * it when the trip is requested (refused when the wallet's available balance does not cover it),
 * what is held for a trip, and giving it back when the request fails after the hold.
 */
import type { Money } from "../domain/fare";
import { Account } from "../domain/ledger-entries";
import { holdEntry, releaseEntry } from "../domain/wallet-entries";
import { ledgerOf } from "./ledger-statements";
import { postEntry } from "./postings";
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
export async function heldFor(env: Env, tripId: string, riderId: string, currency: string): Promise<Money> {
  const row = await heldStatement(ledgerOf(env, riderId), tripId, riderId, currency).first<{ held: number }>();
  return { amount: row?.held ?? 0, currency };
}

/** What came of holding a fare: held, or refused because the wallet's available balance does not cover it. */
export type HoldOutcome = { held: true } | { held: false; needed: Money; available: Money };

/**
 * Holds a trip's fare on the rider's wallet, unless the wallet does not cover it. A zero fare holds
 * nothing. Idempotent by the trip id: a retry holds nothing more.
 */
export async function holdFare(
  env: Env,
  tripId: string,
  riderId: string,
  amount: Money,
  now: number,
): Promise<HoldOutcome> {
  if (amount.amount <= 0) return { held: true };
  if ((await postEntry(env, holdEntry(tripId, riderId, amount), now)) === "refused") {
    const wallet = await walletOf(env, riderId, amount.currency);
    return { held: false, needed: amount, available: wallet.available };
  }
  return { held: true };
}

/** Gives a trip's hold back (a request that failed after the hold). */
export async function releaseHold(
  env: Env,
  tripId: string,
  riderId: string,
  currency: string,
  now: number,
): Promise<void> {
  const release = releaseEntry(tripId, riderId, await heldFor(env, tripId, riderId, currency));
  if (release) await postEntry(env, release, now);
}
