/**
 * @module domain/settlement
 * What a trip's end means for the rider's money: the settlement a move calls for (capture, fee
 * or release) and the ledger entries that carry it out. The trip room stores the settlement with
 * the status (rooms/trip-settlement.ts) and db/settlement.ts posts its entries to D1.
 */
import { z } from "zod";
import { chargeEntry } from "./charges";
import { FareBreakdown, FareDecision, Money } from "./fare";
import type { Entry } from "./ledger-entries";
import type { TripEvent, TripState } from "./trip";
import { releaseEntry } from "./wallet-entries";

const settlementBase = { tripId: z.string(), riderId: z.string(), at: z.number().int() };

/** What a trip's end means for the rider's money; the trip room stores it with the status. */
export const Settlement = z.discriminatedUnion("type", [
  z.object({
    ...settlementBase,
    type: z.literal("capture"),
    driverId: z.string(),
    charge: Money,
    breakdown: FareBreakdown,
    decision: FareDecision.optional(),
  }),
  z.object({
    ...settlementBase,
    type: z.literal("fee"),
    driverId: z.string().nullable(),
    charge: Money,
    breakdown: FareBreakdown,
  }),
  z.object({ ...settlementBase, type: z.literal("release") }),
]);
export type Settlement = z.infer<typeof Settlement>;

/** The settlement a move calls for: completion captures, a fee is charged, any other end releases. */
export function settlementOf(after: TripState, events: readonly TripEvent[]): Settlement | null {
  const base = { tripId: after.id, riderId: after.riderId };
  for (const event of events) {
    switch (event.type) {
      case "completed": {
        const breakdown = after.fareBreakdown ?? { base: event.fare.amount, distance: 0, time: 0, surge: 0, fee: 0 };
        return {
          ...base,
          at: event.at,
          type: "capture",
          driverId: event.driverId,
          charge: event.fare,
          breakdown,
          ...(after.fareDecision ? { decision: after.fareDecision } : {}),
        };
      }
      case "cancelled":
        if (event.cancellationFee && event.cancellationFee.amount > 0) {
          const breakdown = { base: 0, distance: 0, time: 0, surge: 0, fee: event.cancellationFee.amount };
          return {
            ...base,
            at: event.at,
            type: "fee",
            driverId: event.releasedDriverId,
            charge: event.cancellationFee,
            breakdown,
          };
        }
        return { ...base, at: event.at, type: "release" };
      case "no_driver":
        return { ...base, at: event.at, type: "release" };
      default:
        break;
    }
  }
  return null;
}

/**
 * The entries that settle a trip, in order: the release of its whole hold, then the charge
 * taken from the wallet that now includes it. `wallet` is read before the release.
 */
export function settlementEntries(
  s: Settlement,
  balances: { wallet: number; held: Money },
  commissionBps: number,
): Entry[] {
  const entries: Entry[] = [];
  const release = releaseEntry(s.tripId, s.riderId, balances.held);
  if (release) entries.push(release);
  if (s.type !== "release") {
    const available = balances.wallet + Math.max(0, balances.held.amount);
    const decision = s.type === "capture" && s.decision ? { decision: s.decision } : {};
    const charge = chargeEntry({
      kind: s.type,
      tripId: s.tripId,
      riderId: s.riderId,
      driverId: s.driverId,
      charge: s.charge,
      breakdown: s.breakdown,
      available,
      commissionBps,
      ...decision,
    });
    if (charge) entries.push(charge);
  }
  return entries;
}
