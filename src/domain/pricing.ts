/**
 * @module domain/pricing
 * The one place that prices a ride: the quote a rider is shown and the fare a completed ride
 * charges, both from the configured fare rules. A quote freezes the rules it was made with in
 * its terms, and the final fare is priced on those same terms, so a change of config between
 * the quote and the dropoff never reprices a ride already on its way.
 */
import type { Config } from "../config";
import {
  computeFare,
  finalCharge,
  judgeTrace,
  quoteEstimate,
  type FareBreakdown,
  type FareDecision,
  type FarePolicy,
  type FareRules,
  type Money,
  type TracePoint,
} from "./fare";
import type { LatLng } from "./geo";
import { tierFareRules, type TierRules } from "./tiers";
import type { QuoteTerms, TripState } from "./trip";

/** The settings a price depends on. */
export type PricingConfig = Pick<
  Config,
  | "FARE_CURRENCY"
  | "FARE_BASE_MINOR"
  | "FARE_PER_KM_MINOR"
  | "FARE_PER_MINUTE_MINOR"
  | "FARE_MINIMUM_MINOR"
  | "CANCELLATION_FEE_MINOR"
  | "FREE_CANCEL_WINDOW_MS"
  | "FREE_PICKUP_WAIT_MS"
  | "FARE_REPRICE_PERCENT"
  | "FARE_CAP_PERCENT"
  | "FARE_MAX_SPEED_KMH"
  | "FIX_MAX_AHEAD_MS"
  | "FARE_EARLY_END_M"
  | "travelModel"
>;

/** The fare rules a new quote is made with. */
export function fareRulesOf(config: PricingConfig): FareRules {
  return {
    currency: config.FARE_CURRENCY,
    baseMinor: config.FARE_BASE_MINOR,
    perKmMinor: config.FARE_PER_KM_MINOR,
    perMinuteMinor: config.FARE_PER_MINUTE_MINOR,
    minimumMinor: config.FARE_MINIMUM_MINOR,
    cancellationFeeMinor: config.CANCELLATION_FEE_MINOR,
    freeCancelWindowMs: config.FREE_CANCEL_WINDOW_MS,
    freePickupWaitMs: config.FREE_PICKUP_WAIT_MS,
  };
}

/** How far a final fare may move from its quote, and which of the ride's fixes are believed. */
export function farePolicyOf(config: PricingConfig): FarePolicy {
  return {
    repricePercent: config.FARE_REPRICE_PERCENT,
    capPercent: config.FARE_CAP_PERCENT,
    maxSpeedKmh: config.FARE_MAX_SPEED_KMH,
    maxAheadMs: config.FIX_MAX_AHEAD_MS,
    earlyEndKm: config.FARE_EARLY_END_M / 1000,
  };
}

/**
 * Prices a ride up front: distance and time from the straight line between the two points,
 * times the pickup's surge, on `tier`'s fare rules. The terms (rules, surge, fare, estimate) are what the trip keeps to
 * price its final fare on.
 */
export function priceQuote(
  config: PricingConfig,
  pickup: LatLng,
  dropoff: LatLng,
  surge: number,
  tier?: TierRules & { name: string },
): QuoteTerms {
  const estimate = quoteEstimate(pickup, dropoff, config.travelModel);
  // Without a tier, the FARE_* rules themselves (the default tier's, as configured by default).
  const rules = tier === undefined ? fareRulesOf(config) : tierFareRules(fareRulesOf(config), tier);
  const fare = computeFare(rules, { ...estimate, surge }).total;
  return { rules, surge, fare, ...estimate, ...(tier === undefined ? {} : { tier: tier.name }) };
}

/** How a quote's fare is made up, part by part, on the terms it was priced with: the parts add up to `terms.fare`. */
export function quoteBreakdown(terms: QuoteTerms): FareBreakdown {
  const { distanceKm, durationMin, surge } = terms;
  return computeFare(terms.rules, { distanceKm, durationMin, surge }).breakdown;
}

/** What a completed ride charges, in the fields of the trip's `complete` command. */
export type RidePrice = { fare: Money; breakdown: FareBreakdown; decision: FareDecision };

/**
 * The fare a completion charges: the quote unless the ride really differs (domain/fare's
 * `finalCharge`), priced on the terms the trip was quoted with. `trace` is the ride's
 * breadcrumb with the server's receive times; `endedAt` is the server's clock too.
 */
export function priceRide(
  config: PricingConfig,
  trip: Pick<TripState, "quote" | "dropoff" | "startedAt">,
  trace: readonly TracePoint[],
  endedAt: number,
): RidePrice {
  const policy = farePolicyOf(config);
  // Both ends on the server's clock: the driver's app has no say in how long the ride took.
  const durationMin = trip.startedAt === null ? 0 : Math.max(0, endedAt - trip.startedAt) / 60_000;
  const { fare, decision } = finalCharge({
    rules: trip.quote.rules,
    quote: trip.quote,
    dropoff: trip.dropoff,
    trace: judgeTrace(trace, policy),
    durationMin,
    policy,
  });
  return { fare: fare.total, breakdown: fare.breakdown, decision };
}
