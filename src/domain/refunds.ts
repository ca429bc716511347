/**
 * @module domain/refunds
 * The entries that give a charge back (accounts and rules in domain/ledger-entries; charges in
 * domain/charges):
 *
 *   refund       the lines of a capture or fee, negated
 *   partial      an operator's refund of r out of a charge c (partialRefundEntry): the rider gets r back,
 *     refund     first against what they still owe of that charge (receivable, up to `owed`), the
 *                rest into the wallet; the driver's earnings and the platform's commission give
 *                it back in proportion to their shares of c. Computed on the running total R of
 *                the charge's refunds, so refunds add up exactly to the whole charge reversed.
 */
import { Account, balancedEntry, type ChargeData, type Entry, type Line } from "./ledger-entries";

export const refundKey = (originalKey: string) => `refund:${originalKey}`;

/** The reversing entry of a capture or a fee: every line negated. Entries are never edited. */
export function refundEntry(original: Entry): Entry {
  if (original.kind !== "capture" && original.kind !== "fee")
    throw new RangeError(`only a capture or a fee can be refunded, not ${original.kind}`);
  return balancedEntry(
    refundKey(original.key),
    "refund",
    original.tripId,
    original.lines.map((l) => ({ ...l, amount: -l.amount })),
    original.data,
  );
}

/** The key of an operator's refund: one per trip and request key, so a retried request posts nothing. */
export const tripRefundKey = (tripId: string, requestKey: string) => `refund:trip:${tripId}:${requestKey}`;

/** A charge's refunds as they stand: what was charged, what is refunded in all. */
export type RefundState = { chargeKey: string; tripId: string; charge: ChargeData; refunded: number };

/** What the refunds of a charge take back in all once `total` of it is refunded, line by line. */
function reversedAt(
  charge: ChargeData,
  total: number,
): { receivable: number; wallet: number; earnings: number; platform: number } {
  const amount = charge.charge.amount;
  // The rider never paid what they still owe, so a refund cancels that debt before it pays out.
  const receivable = Math.min(total, charge.owed);
  // The driver's share of the refund, rounded half up with integer arithmetic; exact at total = amount.
  const earnings = amount === 0 ? 0 : Math.floor((2 * charge.driverEarning * total + amount) / (2 * amount));
  return { receivable, wallet: total - receivable, earnings, platform: total - earnings };
}

/**
 * An operator's refund of `amount` (minor units, in the charge's currency) of a trip's charge,
 * after `state.refunded` was already refunded. Refused (RangeError) beyond what is left.
 *
 * The rule: the running total R of the charge's refunds is split as the charge was. The rider
 * gets R back, first on their receivable up to what the charge left owed, then in the wallet;
 * the driver gives back round(driverEarning × R / charge) and the platform the rest of R. This
 * refund's lines are the difference between that split at R + amount and at R, so any series
 * of partial refunds adds up to the exact negation of the charge, never more. A driver whose
 * earnings are taken back below zero owes it to the platform (their earnings account shows it).
 */
export function partialRefundEntry(state: RefundState, amount: number, key: string): Entry {
  const total = state.charge.charge.amount;
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw new RangeError(`a refund must be a positive integer amount, got ${amount}`);
  if (state.refunded + amount > total)
    throw new RangeError(`a refund of ${amount} exceeds what is left of the charge (${total - state.refunded})`);
  const before = reversedAt(state.charge, state.refunded);
  const after = reversedAt(state.charge, state.refunded + amount);
  const { currency } = state.charge.charge;
  const { riderId, driverId } = state.charge;
  const lines: Line[] = [
    { account: Account.receivable(riderId), amount: after.receivable - before.receivable, currency },
    { account: Account.wallet(riderId), amount: after.wallet - before.wallet, currency },
    { account: Account.platform, amount: -(after.platform - before.platform), currency },
  ];
  if (driverId !== null)
    lines.push({ account: Account.earnings(driverId), amount: -(after.earnings - before.earnings), currency });
  else if (after.earnings !== before.earnings)
    throw new RangeError("a charge without a driver has no earnings to take back");
  return balancedEntry(key, "refund", state.tripId, lines, state.charge);
}

/** What one refund entry gave the rider back: its lines on the rider's wallet and receivable. */
export function refundedBy(entry: Pick<Entry, "lines">, riderId: string): number {
  return entry.lines
    .filter((l) => l.account === Account.wallet(riderId) || l.account === Account.receivable(riderId))
    .reduce((sum, l) => sum + l.amount, 0);
}
