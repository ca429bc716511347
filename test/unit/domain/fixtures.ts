// Shared inputs for the domain tests: one city (San Francisco), one set of fare rules.
import type { FareRules } from "../../../src/domain/fare";
import type { LatLng } from "../../../src/domain/geo";
import { type TripState, createTrip } from "../../../src/domain/trip";

export const model = { detourFactor: 1.3, citySpeedKmh: 25 };

export const pickup: LatLng = { lat: 37.7749, lng: -122.4194 };
export const dropoff: LatLng = { lat: 37.8044, lng: -122.2712 };

export const rules: FareRules = {
  currency: "USD",
  baseMinor: 250,
  perKmMinor: 120,
  perMinuteMinor: 30,
  minimumMinor: 700,
  cancellationFeeMinor: 500,
};

export const T0 = 1_700_000_000_000;

export function newTrip(overrides: { rules?: FareRules; now?: number; scheduledAt?: number } = {}): TripState {
  return createTrip({
    id: "trip-1",
    riderId: "rider-1",
    pickup,
    dropoff,
    quote: {
      rules: overrides.rules ?? rules,
      surge: 1.2,
      fare: { amount: 2400, currency: "USD" },
      distanceKm: 17.1,
      durationMin: 41,
    },
    now: overrides.now ?? T0,
    ...(overrides.scheduledAt === undefined ? {} : { scheduledAt: overrides.scheduledAt }),
  });
}

/** Freezes an object graph, so a test fails loudly if code under test writes to its input. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
