/**
 * @module domain/payouts
 * Paying a driver's earnings out through the payment provider (accounts and rules in
 * domain/ledger-entries). A payout is three steps on the ledger, each its own entry keyed by the
 * payout's id, so a retried step posts nothing:
 *
 *   payout         earnings:<driver> −a, payout:<driver> +a    requested: the money is in transit
 *   payout_paid    payout:<driver> −a, clearing:<provider> +a  the provider's transfer succeeded
 *   payout_failed  payout:<driver> −a, earnings:<driver> +a    the provider refused: it goes back
 *
 * The first is refused unless the driver's earnings cover it (a payout never takes earnings
 * below zero); the other two unless the payout account still holds it, so a payout ends paid or
 * failed, never both. What a driver may take out is `availableForPayout`: their earnings less
 * what was credited within the hold period (PAYOUT_HOLD_MS), the time operators have to refund
 * a ride before the driver's share of it can leave. A refund after that may still claw the share
 * back below zero; the driver then owes it and later earnings pay it off first.
 *
 * Plain TypeScript, so the ledger property tests post these exact entries.
 */
import type { Money } from "./fare";
import { Account, balancedEntry, type Entry } from "./ledger-entries";

export const payoutKey = (payoutId: string) => `payout:${payoutId}`;
export const payoutPaidKey = (payoutId: string) => `payout:${payoutId}:paid`;
export const payoutFailedKey = (payoutId: string) => `payout:${payoutId}:failed`;

/**
 * What a driver may pay out: the earnings balance less what was credited to it within the hold
 * period (never below zero). Debits in the period (a refund's claw-back) count at once.
 */
export function availableForPayout(balance: number, creditedWithinHold: number): number {
  return Math.max(0, balance - Math.max(0, creditedWithinHold));
}

export type PayoutRefusal = "nothing_available" | "below_minimum" | "over_available";

/**
 * The amount of a payout: `requested`, or everything available when it is undefined. Refused
 * when nothing is available, when the amount is below the minimum, or more than is available.
 */
export function payoutAmount(
  requested: number | undefined,
  available: number,
  minimum: number,
): { ok: true; amount: number } | { ok: false; reason: PayoutRefusal } {
  if (available <= 0) return { ok: false, reason: "nothing_available" };
  const amount = requested ?? available;
  if (!Number.isSafeInteger(amount) || amount <= 0 || amount < minimum) return { ok: false, reason: "below_minimum" };
  if (amount > available) return { ok: false, reason: "over_available" };
  return { ok: true, amount };
}

function positive(amount: Money): void {
  if (!Number.isSafeInteger(amount.amount) || amount.amount <= 0)
    throw new RangeError(`a payout must be a positive integer amount, got ${amount.amount}`);
}

/** The driver asked (or the schedule asked) for `amount`: it leaves their earnings for transit. */
export function payoutEntry(payoutId: string, driverId: string, amount: Money): Entry {
  positive(amount);
  const { currency } = amount;
  return balancedEntry(payoutKey(payoutId), "payout", null, [
    { account: Account.earnings(driverId), amount: -amount.amount, currency },
    { account: Account.payout(driverId), amount: amount.amount, currency },
  ]);
}

/** The provider's transfer went through: the money left the platform through `provider`. */
export function payoutPaidEntry(payoutId: string, driverId: string, amount: Money, provider: string): Entry {
  positive(amount);
  const { currency } = amount;
  return balancedEntry(payoutPaidKey(payoutId), "payout_paid", null, [
    { account: Account.payout(driverId), amount: -amount.amount, currency },
    { account: Account.clearing(provider), amount: amount.amount, currency },
  ]);
}

/** The provider refused the transfer for good: the money goes back to the driver's earnings. */
export function payoutFailedEntry(payoutId: string, driverId: string, amount: Money): Entry {
  positive(amount);
  const { currency } = amount;
  return balancedEntry(payoutFailedKey(payoutId), "payout_failed", null, [
    { account: Account.payout(driverId), amount: -amount.amount, currency },
    { account: Account.earnings(driverId), amount: amount.amount, currency },
  ]);
}
