import { describe, expect, it } from "vitest";
import { computeFare, quoteEstimate } from "../../../src/domain/fare";
import { farePolicyOf, fareRulesOf, type PricingConfig, priceQuote, priceRide } from "../../../src/domain/pricing";
import { createTrip } from "../../../src/domain/trip";
import { dropoff, model, pickup, T0 } from "./fixtures";

const config: PricingConfig = {
  FARE_CURRENCY: "USD",
  FARE_BASE_MINOR: 250,
  FARE_PER_KM_MINOR: 120,
  FARE_PER_MINUTE_MINOR: 30,
  FARE_MINIMUM_MINOR: 700,
  CANCELLATION_FEE_MINOR: 500,
  FREE_CANCEL_WINDOW_MS: 120_000,
  FREE_PICKUP_WAIT_MS: 60_000,
  FARE_REPRICE_PERCENT: 20,
  FARE_CAP_PERCENT: 50,
  FARE_MAX_SPEED_KMH: 150,
  FIX_MAX_AHEAD_MS: 5_000,
  FARE_EARLY_END_M: 500,
  travelModel: model,
};

describe("pricing", () => {
  it("quotes from the configured rules and keeps them in the terms", () => {
    const terms = priceQuote(config, pickup, dropoff, 1.5);
    const estimate = quoteEstimate(pickup, dropoff, model);
    expect(terms).toEqual({
      rules: fareRulesOf(config),
      surge: 1.5,
      fare: computeFare(fareRulesOf(config), { ...estimate, surge: 1.5 }).total,
      ...estimate,
    });
    expect(farePolicyOf(config).earlyEndKm).toBe(0.5);
  });

  it("charges a ride that went as quoted the quote, on the quote's own rules even after the config changed", () => {
    const terms = priceQuote(config, pickup, dropoff, 1);
    const trip = { ...createTrip({ id: "t", riderId: "r", pickup, dropoff, quote: terms, now: T0 }), startedAt: T0 };
    const changed = { ...config, FARE_PER_KM_MINOR: 999 };
    const trace = [
      { ...pickup, at: T0, receivedAt: T0 },
      { ...dropoff, at: T0 + terms.durationMin * 60_000, receivedAt: T0 + terms.durationMin * 60_000 },
    ];
    const price = priceRide(changed, trip, trace, T0 + terms.durationMin * 60_000);
    expect(price.fare).toEqual(terms.fare);
    expect(price.decision.basis).toBe("quote");
  });
});
