/**
 * @module domain/tips
 * A rider's tip to the driver of a completed trip (accounts and rules in domain/ledger-entries):
 *
 *   tip   wallet:<rider> −amount, earnings:<driver> +amount
 *
 * All of it goes to the driver: no commission line. The wallet guard of every posting (a wallet
 * never goes below zero) is what makes "the wallet must hold the funds" true, so a tip never
 * books a receivable. Plain TypeScript, so the ledger property tests post these exact entries.
 */
import type { Money } from "./fare";
import { Account, balancedEntry, type Entry } from "./ledger-entries";

/** The key of a rider's tip: one per trip and request key, so a retried request posts nothing. */
export const tipKey = (tripId: string, requestKey: string) => `tip:trip:${tripId}:${requestKey}`;

/** The rules that bound the tips of one trip (config: TIP_WINDOW_MS, TIP_MAX_PERCENT, TIP_MAX_MINOR). */
export type TipRules = { windowMs: number; maxPercent: number; maxMinor: number };

/**
 * The most a trip's tips may add up to: `maxPercent` of the fare charged, rounded down, and never
 * more than `maxMinor`. Several tips are allowed; together they stay within this bound.
 */
export function tipBound(fare: number, rules: Pick<TipRules, "maxPercent" | "maxMinor">): number {
  // Percent with two decimals at most, in basis points, so the bound is exact integer arithmetic.
  const bps = Math.round(rules.maxPercent * 100);
  return Math.max(0, Math.min(Math.floor((Math.max(0, fare) * bps) / 10_000), rules.maxMinor));
}

/** Whether a tip is still possible `now` for a trip completed at `completedAt`. */
export function tipWindowOpen(completedAt: number, now: number, windowMs: number): boolean {
  return now - completedAt <= windowMs;
}

/** The entry of a tip of `amount` (positive minor units) from the rider's wallet to the driver's earnings. */
export function tipEntry(key: string, tripId: string, riderId: string, driverId: string, amount: Money): Entry {
  if (!Number.isSafeInteger(amount.amount) || amount.amount <= 0)
    throw new RangeError(`a tip must be a positive integer amount, got ${amount.amount}`);
  if (riderId === driverId) throw new RangeError("a rider cannot tip themselves");
  const { currency } = amount;
  return balancedEntry(key, "tip", tripId, [
    { account: Account.wallet(riderId), amount: -amount.amount, currency },
    { account: Account.earnings(driverId), amount: amount.amount, currency },
  ]);
}

/** What one tip entry gave the driver: its line on the driver's earnings. */
export function tippedBy(entry: Pick<Entry, "lines">, driverId: string): number {
  return entry.lines.filter((l) => l.account === Account.earnings(driverId)).reduce((sum, l) => sum + l.amount, 0);
}
