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
  /** How long the driver may wait at the pickup before the rider's cancel costs the fee; see trip.ts. */
  freePickupWaitMs: z.number().int().nonnegative().optional(),
});
export type FareRules = z.infer<typeof FareRules>;

/**
 * Every part is in minor units and they add up to `total.amount` (`adjustment` included). `surge` is what the
 * multiplier adds on top of the metered price; `fee` is anything charged beyond it: the top-up
 * to the minimum fare on a ride, or the cancellation fee on a cancelled trip.
 */
export const FareBreakdown = z.object({
  base: z.number().int(),
  distance: z.number().int(),
  time: z.number().int(),
  surge: z.number().int(),
  fee: z.number().int(),
  /** What the upfront-fare rules took off the metered price (never positive): the cap. Absent when nothing was. */
  adjustment: z.number().int().max(0).optional(),
});
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

// ---- the final fare: upfront, unless the ride really differs ----------------------------------

/** A fix of the ride as the trip room stored it: `receivedAt` is the server's clock, `at` the phone's. */
export type TracePoint = Fix & { receivedAt: number };

export const FarePolicy = z.object({
  /** A plausible metered fare more than this many percent above the quote replaces it. */
  repricePercent: z.number().int().nonnegative(),
  /** The most a final fare may exceed the quote by, in percent. */
  capPercent: z.number().int().nonnegative(),
  /** The fastest a trace may move between two fixes, on the server's receive times. */
  maxSpeedKmh: z.number().positive(),
  /** A fix whose `at` is further ahead of its receive time than this is not believed. */
  maxAheadMs: z.number().int().nonnegative(),
  /** A ride whose last fix is further than this from the dropoff ended early. */
  earlyEndKm: z.number().positive(),
});
export type FarePolicy = z.infer<typeof FarePolicy>;

/** What the trace of a ride shows, judged on the server's clock. */
export type TraceJudgement = {
  /** Distance along the fixes that could be believed. */
  distanceKm: number;
  /** True when every fix could be believed: no jump, nothing from the future. */
  plausible: boolean;
  /** Fixes left out: faster than `maxSpeedKmh` from the last believed one, or from the future. */
  refused: number;
  /**
   * Where the ride's fixes ended: the last one received that is not from the future, believed or
   * not (a driver's own last fix can only argue for ending early, which bills less), or null.
   */
  last: LatLng | null;
};

/**
 * The distance a ride's fixes support. Speeds are judged on the server's receive times, never
 * on the phone's `at`, which a driver's app chooses: a fix that would need more than
 * `maxSpeedKmh` since the last believed one (by receive time) is left out, and the next fix is
 * measured from that last believed one. So the distance can never exceed `maxSpeedKmh` times
 * the time the server actually spent receiving the ride, while a burst of fixes buffered in a
 * tunnel is credited again as soon as the average speed since the last believed fix is
 * plausible. A fix stamped further ahead of its receipt than `maxAheadMs` is not believed.
 */
export function judgeTrace(
  points: readonly TracePoint[],
  policy: Pick<FarePolicy, "maxSpeedKmh" | "maxAheadMs">,
): TraceJudgement {
  const ordered = [...points].sort((a, b) => a.receivedAt - b.receivedAt || a.at - b.at);
  let believed: TracePoint | undefined;
  let last: TracePoint | undefined;
  let km = 0;
  let refused = 0;
  for (const point of ordered) {
    if (point.at - point.receivedAt > policy.maxAheadMs) {
      refused++;
      continue;
    }
    last = point;
    if (believed === undefined) {
      believed = point;
      continue;
    }
    if (
      impliedSpeedKmh({ ...believed, at: believed.receivedAt }, { ...point, at: point.receivedAt }) > policy.maxSpeedKmh
    ) {
      refused++;
      continue;
    }
    km += haversineKm(believed, point);
    believed = point;
  }
  return { distanceKm: km, plausible: refused === 0, refused, last: last ? { lat: last.lat, lng: last.lng } : null };
}

/** Why part of a metered fare was not charged; operators look at these. */
export const FareReviewReason = z.enum(["above_cap", "implausible_trace"]);
export type FareReviewReason = z.infer<typeof FareReviewReason>;

/** How the charged fare came about: shown on the trip and its receipt. */
export const FareDecision = z.object({
  quoted: Money,
  /** What the ride's trace and the server-timed duration price at. */
  metered: Money,
  charged: Money,
  /**
   * `quote`: the upfront fare; `metered`: the ride really differed (longer, or ended early); `capped`: metered, cut to
   * the cap.
   */
  basis: z.enum(["quote", "metered", "capped"]),
  endedEarly: z.boolean(),
  /**
   * What the ride's fixes showed: the distance believed, and how many fixes were not (too fast on the server's clock,
   * or from the future).
   */
  trace: z.object({ km: z.number().nonnegative(), refusedFixes: z.number().int().nonnegative() }),
  /** Set when some of the metered fare was not charged and waits for an operator's review. */
  review: z.object({ reason: FareReviewReason, uncharged: Money }).nullable(),
});
export type FareDecision = z.infer<typeof FareDecision>;

export type FinalChargeInput = {
  rules: FareRules;
  quote: { fare: Money; distanceKm: number; durationMin: number; surge: number };
  dropoff: LatLng;
  trace: TraceJudgement;
  /** Minutes between the start and the completion, both on the server's clock. */
  durationMin: number;
  policy: FarePolicy;
};

/** `amount` raised by `percent` %, rounded down: a cap never rounds in the driver's favour. */
export const plusPercent = (amount: number, percent: number) => Math.floor((amount * (100 + percent)) / 100);

/**
 * The fare a completed ride charges (README, "Money rules"):
 * - the quote, unless the ride really differs;
 * - the metered fare when the ride ended early (its last fix more than `earlyEndKm` from the
 *   dropoff: the part driven), or when it is more than `repricePercent` above the quote;
 * - never more than `capPercent` above the quote, and never above the quote at all unless the
 *   trace is plausible. What the metered fare had beyond that is flagged for review.
 * The charge is therefore at most quote × (1 + cap), whatever the driver's app sends.
 */
export function finalCharge(input: FinalChargeInput): { fare: Fare; decision: FareDecision } {
  const { rules, quote, trace, policy } = input;
  const metered = computeFare(rules, {
    distanceKm: trace.distanceKm,
    durationMin: input.durationMin,
    surge: quote.surge,
  });
  const quoted = quote.fare.amount;
  const ceiling = trace.plausible ? plusPercent(quoted, policy.capPercent) : quoted;
  const endedEarly = trace.last !== null && haversineKm(trace.last, input.dropoff) > policy.earlyEndKm;
  const differs = endedEarly || metered.total.amount > plusPercent(quoted, policy.repricePercent);
  const money = (amount: number): Money => ({ amount, currency: rules.currency });
  let fare: Fare;
  let basis: FareDecision["basis"];
  if (!differs) {
    fare = {
      total: money(quoted),
      breakdown: computeFare(rules, {
        distanceKm: quote.distanceKm,
        durationMin: quote.durationMin,
        surge: quote.surge,
      }).breakdown,
    };
    // The quote's own parts; if the rules changed since, the fee absorbs the difference so the parts still add up.
    const sum = partsOf(fare.breakdown);
    if (sum !== quoted) fare.breakdown = { ...fare.breakdown, fee: fare.breakdown.fee + quoted - sum };
    basis = "quote";
  } else if (metered.total.amount <= ceiling) {
    fare = metered;
    basis = "metered";
  } else {
    fare = { total: money(ceiling), breakdown: { ...metered.breakdown, adjustment: ceiling - metered.total.amount } };
    basis = "capped";
  }
  const uncharged = metered.total.amount - fare.total.amount;
  const review =
    differs && uncharged > 0
      ? {
          reason: trace.plausible ? ("above_cap" as const) : ("implausible_trace" as const),
          uncharged: money(uncharged),
        }
      : null;
  const traceSeen = { km: Math.round(trace.distanceKm * 100) / 100, refusedFixes: trace.refused };
  return {
    fare,
    decision: {
      quoted: quote.fare,
      metered: metered.total,
      charged: fare.total,
      basis,
      endedEarly,
      trace: traceSeen,
      review,
    },
  };
}

const partsOf = (b: FareBreakdown) => b.base + b.distance + b.time + b.surge + b.fee + (b.adjustment ?? 0);
