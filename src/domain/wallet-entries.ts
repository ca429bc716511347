/**
 * @module domain/wallet-entries
 * The entries that move a rider's own money (accounts and rules in domain/ledger-entries):
 *
 *   top-up   clearing −a, wallet +a
 *   hold     wallet −a, hold +a      (refused when the wallet has less than a)
 *   release  hold −h, wallet +h      (the whole hold of the trip)
 */
import type { Money } from "./fare";
import { Account, balancedEntry, type Entry } from "./ledger-entries";

function positive(money: Money, what: string): void {
  if (!Number.isSafeInteger(money.amount) || money.amount <= 0)
    throw new RangeError(`${what} must be a positive integer amount, got ${money.amount}`);
}

export const topUpKey = (topUpId: string) => `topup:${topUpId}`;
export const holdKey = (tripId: string) => `trip:${tripId}:hold`;
export const releaseKey = (tripId: string) => `trip:${tripId}:release`;

export function topUpEntry(topUpId: string, userId: string, amount: Money, provider: string): Entry {
  positive(amount, "a top-up");
  const { currency } = amount;
  return balancedEntry(topUpKey(topUpId), "top_up", null, [
    { account: Account.clearing(provider), amount: -amount.amount, currency },
    { account: Account.wallet(userId), amount: amount.amount, currency },
  ]);
}

export function holdEntry(tripId: string, riderId: string, amount: Money): Entry {
  positive(amount, "a hold");
  const { currency } = amount;
  return balancedEntry(holdKey(tripId), "hold", tripId, [
    { account: Account.wallet(riderId), amount: -amount.amount, currency },
    { account: Account.hold(riderId), amount: amount.amount, currency },
  ]);
}

/** Gives the trip's whole hold back to the wallet; null when nothing is held for it. */
export function releaseEntry(tripId: string, riderId: string, held: Money): Entry | null {
  if (held.amount <= 0) return null;
  const { currency } = held;
  return balancedEntry(releaseKey(tripId), "release", tripId, [
    { account: Account.hold(riderId), amount: -held.amount, currency },
    { account: Account.wallet(riderId), amount: held.amount, currency },
  ]);
}
