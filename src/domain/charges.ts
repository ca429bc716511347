/**
 * @module domain/charges
 * The entry that charges a rider for a trip, a ride's capture or a cancellation fee (accounts
 * and rules in domain/ledger-entries):
 *
 *   capture/fee  wallet −paid, receivable −owed, earnings +driver, platform +commission
 *                paid = min(charge, wallet after the release), owed = charge − paid
 *
 * The commission is rounded half up in basis points with integer arithmetic.
 */
import type { FareBreakdown, FareDecision, Money } from "./fare";
import { Account, balancedEntry, type Entry, type Line } from "./ledger-entries";

export const chargeKey = (tripId: string, kind: "capture" | "fee") => `trip:${tripId}:${kind}`;

/** The platform's share of `amount`, rounded half up: `bps` basis points (2500 = 25 %). */
export function commissionOf(amount: number, bps: number): number {
  if (!Number.isSafeInteger(bps) || bps < 0 || bps > 10_000)
    throw new RangeError(`commission must be 0..10000 basis points, got ${bps}`);
  return Math.floor((amount * bps + 5_000) / 10_000);
}

export type Charge = {
  kind: "capture" | "fee";
  tripId: string;
  riderId: string;
  /** Null for a fee with no driver to compensate: the platform keeps it all. */
  driverId: string | null;
  charge: Money;
  breakdown: FareBreakdown;
  /** The rider's wallet when the charge is taken (any hold of the trip already released). */
  available: number;
  commissionBps: number;
  decision?: FareDecision;
};

/**
 * Takes at most what the wallet has, books the rest as the rider's receivable, and splits the
 * whole charge between the driver and the platform (the platform carries the receivable).
 */
export function chargeEntry(c: Charge): Entry | null {
  const amount = c.charge.amount;
  if (!Number.isSafeInteger(amount) || amount < 0)
    throw new RangeError(`a charge must be a non-negative integer, got ${amount}`);
  if (amount === 0) return null;
  const paid = Math.min(amount, Math.max(0, c.available));
  const owed = amount - paid;
  const commission = c.driverId === null ? amount : commissionOf(amount, c.commissionBps);
  const driverEarning = amount - commission;
  const { currency } = c.charge;
  const lines: Line[] = [
    { account: Account.wallet(c.riderId), amount: -paid, currency },
    { account: Account.receivable(c.riderId), amount: -owed, currency },
    { account: Account.platform, amount: commission, currency },
  ];
  if (c.driverId !== null) lines.push({ account: Account.earnings(c.driverId), amount: driverEarning, currency });
  return balancedEntry(chargeKey(c.tripId, c.kind), c.kind, c.tripId, lines, {
    riderId: c.riderId,
    driverId: c.driverId,
    charge: c.charge,
    breakdown: c.breakdown,
    paid,
    owed,
    commission,
    driverEarning,
    ...(c.decision ? { decision: c.decision } : {}),
  });
}
