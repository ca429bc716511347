/**
 * @module domain/fare
 * Prices: the up-front estimate a quote shows, the final fare at completion, and the distance
 * actually driven, measured from the driver's breadcrumb. Money is always an integer number of
 * minor units; inputs with fractions (km, minutes, surge) are first scaled to integers so no
 * binary-float artefact (1.005 * 100 = 100.49999…) can move a price by a cent.
 */
import { z } from "zod";
import { type Fix, type LatLng, type TravelModel, assertTravelModel, haversineKm, impliedSpeedKmh } from "./geo";

const MinorUnits = z.number().int().nonnegative();

export const Money = z.object({ amount: z.number().int(), currency: z.string().regex(/^[A-Z]{3}$/) });
export type Money = z.infer<typeof Money>;

export const FareRules = z.object({
  currency: z.string().regex(/^[A-Z]{3}$/),
  baseMinor: MinorUnits,
  perKmMinor: MinorUnits,
  perMinuteMinor: MinorUnits,
  minimumMinor: MinorUnits,
  cancellationFeeMinor: MinorUnits,
  /** How long after a driver accepts the rider may still cancel for free; see trip.ts. */
  freeCancelWindowMs: z.number().int().nonnegative().optional(),
});
export type FareRules = z.infer<typeof FareRules>;

/**
 * Every part is in minor units and they add up to `total.amount`. `surge` is what the
 * multiplier adds on top of the metered price; `fee` is anything charged beyond it: the top-up
 * to the minimum fare on a ride, or the cancellation fee on a cancelled trip.
 */
export const FareBreakdown = z.object({ base: z.number().int(), distance: z.number().int(), time: z.number().int(), surge: z.number().int(), fee: z.number().int() });
export type FareBreakdown = z.infer<typeof FareBreakdown>;
export type Fare = { total: Money; breakdown: FareBreakdown };

export type FareInput = { distanceKm: number; durationMin: number; surge: number };

/** Round half up of an integer ratio; exact, because both operands are integers. */
const divRound = (numerator: number, denominator: number) => Math.round(numerator / denominator);
const round = (x: number, decimals: number) => Math.round(x * 10 ** decimals) / 10 ** decimals;

export function quoteEstimate(
  pickup: LatLng,
  dropoff: LatLng,
  model: TravelModel,
): { distanceKm: number; durationMin: number } {
  assertTravelModel(model);
  const roadKm = haversineKm(pickup, dropoff) * model.detourFactor;
  return { distanceKm: round(roadKm, 2), durationMin: round((roadKm / model.citySpeedKmh) * 60, 1) };
}

/**
 * base + per km + per minute, times surge, at least the minimum. Distance is billed to 10 m
 * (0.01 km), time to 6 s (0.1 min) and surge to 0.1, the precisions quotes are shown in.
 */
export function computeFare(rules: FareRules, input: FareInput): Fare {
  for (const [name, value] of Object.entries(input)) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${name} must be a non-negative number, got ${value}`);
    }
  }
  const base = rules.baseMinor;
  const distance = divRound(Math.round(input.distanceKm * 100) * rules.perKmMinor, 100);
  const time = divRound(Math.round(input.durationMin * 10) * rules.perMinuteMinor, 10);
  const metered = base + distance + time;
  const surged = divRound(metered * Math.round(input.surge * 10), 10);
  const total = Math.max(rules.minimumMinor, surged);
  return {
    total: { amount: total, currency: rules.currency },
    breakdown: { base, distance, time, surge: surged - metered, fee: total - surged },
  };
}

/** What a rider who cancels late pays, in the same shape as a fare so receipts read alike. */
export function cancellationCharge(rules: FareRules): Fare {
  return {
    total: { amount: rules.cancellationFeeMinor, currency: rules.currency },
    breakdown: { base: 0, distance: 0, time: 0, surge: 0, fee: rules.cancellationFeeMinor },
  };
}

/**
 * Distance along a GPS trace. A fix that would need more than `maxSpeedKmh` to reach from the
 * last accepted one is a GPS jump (urban canyons, a phone falling back to cell-tower location)
 * and is skipped, so a glitch cannot add kilometres to the fare. Fixes are taken in time order
 * because the network may deliver them out of order.
 */
export function breadcrumbDistanceKm(points: readonly Fix[], maxSpeedKmh = 250): number {
  const ordered = [...points].sort((a, b) => a.at - b.at);
  let last: Fix | undefined;
  let km = 0;
  for (const point of ordered) {
    if (last === undefined) {
      last = point;
      continue;
    }
    if (impliedSpeedKmh(last, point) > maxSpeedKmh) continue;
    km += haversineKm(last, point);
    last = point;
  }
  return km;
}
