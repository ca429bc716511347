import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  breadcrumbDistanceKm,
  cancellationCharge,
  computeFare,
  type FareRules,
  quoteEstimate,
} from "../../../src/domain/fare";
import { haversineKm } from "../../../src/domain/geo";
import { dropoff, model, pickup, rules } from "./fixtures";

const sum = (b: Record<string, number>) => Object.values(b).reduce((x, y) => x + y, 0);

describe("quoteEstimate", () => {
  it("applies the detour to the straight line and rounds for display", () => {
    const quote = quoteEstimate(pickup, dropoff, model);
    const roadKm = haversineKm(pickup, dropoff) * model.detourFactor;
    expect(quote.distanceKm).toBe(Math.round(roadKm * 100) / 100);
    expect(quote.durationMin).toBe(Math.round((roadKm / model.citySpeedKmh) * 600) / 10);
    // San Francisco to Oakland: 13.4 km as the crow flies, 17.5 km by road at 25 km/h.
    expect(quote).toEqual({ distanceKm: 17.46, durationMin: 41.9 });
  });

  it("is zero for a trip to the same place", () => {
    expect(quoteEstimate(pickup, pickup, model)).toEqual({ distanceKm: 0, durationMin: 0 });
  });
});

describe("computeFare", () => {
  it("adds base, distance and time", () => {
    expect(computeFare(rules, { distanceKm: 10, durationMin: 20, surge: 1 })).toEqual({
      total: { amount: 2050, currency: "USD" },
      breakdown: { base: 250, distance: 1200, time: 600, surge: 0, fee: 0 },
    });
  });

  it("shows what surge adds as its own part", () => {
    const fare = computeFare(rules, { distanceKm: 10, durationMin: 20, surge: 1.5 });
    expect(fare.total.amount).toBe(3075);
    expect(fare.breakdown.surge).toBe(1025);
  });

  it("tops a short ride up to the minimum as a fee", () => {
    const fare = computeFare(rules, { distanceKm: 0.5, durationMin: 1, surge: 1 });
    expect(fare.total.amount).toBe(700);
    expect(fare.breakdown).toEqual({ base: 250, distance: 60, time: 30, surge: 0, fee: 360 });
  });

  it("rounds half a minor unit up even where binary floats fall short", () => {
    // 1.15 * 10 is 11.499999999999998 in floating point; the fare must still round to 12.
    const tenPerKm: FareRules = { ...rules, baseMinor: 0, perKmMinor: 10, perMinuteMinor: 0, minimumMinor: 0 };
    expect(computeFare(tenPerKm, { distanceKm: 1.15, durationMin: 0, surge: 1 }).breakdown.distance).toBe(12);
  });

  it("refuses negative or non-finite inputs", () => {
    expect(() => computeFare(rules, { distanceKm: -1, durationMin: 0, surge: 1 })).toThrow(RangeError);
    expect(() => computeFare(rules, { distanceKm: 1, durationMin: Number.NaN, surge: 1 })).toThrow(RangeError);
    expect(() => computeFare(rules, { distanceKm: 1, durationMin: 1, surge: Infinity })).toThrow(RangeError);
  });

  const fareRules = fc.record({
    currency: fc.constantFrom("USD", "EUR", "JPY"),
    baseMinor: fc.integer({ min: 0, max: 2_000 }),
    perKmMinor: fc.integer({ min: 0, max: 1_000 }),
    perMinuteMinor: fc.integer({ min: 0, max: 500 }),
    minimumMinor: fc.integer({ min: 0, max: 5_000 }),
    cancellationFeeMinor: fc.integer({ min: 0, max: 2_000 }),
  });
  const km = fc.double({ min: 0, max: 500, noNaN: true });
  const minutes = fc.double({ min: 0, max: 600, noNaN: true });
  const surge = fc.integer({ min: 10, max: 30 }).map((tenths) => tenths / 10);

  it("is a whole amount, at least the minimum, and its parts add up", () => {
    fc.assert(
      fc.property(fareRules, km, minutes, surge, (r, distanceKm, durationMin, s) => {
        const fare = computeFare(r, { distanceKm, durationMin, surge: s });
        expect(Number.isSafeInteger(fare.total.amount)).toBe(true);
        expect(fare.total.amount).toBeGreaterThanOrEqual(r.minimumMinor);
        expect(fare.total.currency).toBe(r.currency);
        for (const part of Object.values(fare.breakdown)) expect(Number.isInteger(part)).toBe(true);
        expect(sum(fare.breakdown)).toBe(fare.total.amount);
        expect(fare.breakdown.surge).toBeGreaterThanOrEqual(0);
        expect(fare.breakdown.fee).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it("never falls when distance, time or surge grow", () => {
    fc.assert(
      fc.property(fareRules, km, km, minutes, minutes, surge, surge, (r, d1, d2, m1, m2, s1, s2) => {
        const [dLo, dHi] = d1 <= d2 ? [d1, d2] : [d2, d1];
        const [mLo, mHi] = m1 <= m2 ? [m1, m2] : [m2, m1];
        const [sLo, sHi] = s1 <= s2 ? [s1, s2] : [s2, s1];
        const total = (distanceKm: number, durationMin: number, s: number) =>
          computeFare(r, { distanceKm, durationMin, surge: s }).total.amount;
        expect(total(dHi, mLo, sLo)).toBeGreaterThanOrEqual(total(dLo, mLo, sLo));
        expect(total(dLo, mHi, sLo)).toBeGreaterThanOrEqual(total(dLo, mLo, sLo));
        expect(total(dLo, mLo, sHi)).toBeGreaterThanOrEqual(total(dLo, mLo, sLo));
      }),
    );
  });
});

describe("cancellationCharge", () => {
  it("is the fee alone", () => {
    expect(cancellationCharge(rules)).toEqual({
      total: { amount: 500, currency: "USD" },
      breakdown: { base: 0, distance: 0, time: 0, surge: 0, fee: 500 },
    });
  });
});

describe("breadcrumbDistanceKm", () => {
  // A fix every 10 s, heading north at about 40 km/h (0.001° of latitude is ~111 m).
  const trace = Array.from({ length: 10 }, (_, i) => ({ lat: 37.7 + i * 0.001, lng: -122.4, at: i * 10_000 }));
  const straight = haversineKm(trace[0]!, trace[9]!);

  it("sums the legs of a clean trace", () => {
    expect(breadcrumbDistanceKm(trace)).toBeCloseTo(straight, 9);
  });

  it("is zero for no fixes, one fix, or a driver standing still", () => {
    expect(breadcrumbDistanceKm([])).toBe(0);
    expect(breadcrumbDistanceKm([trace[0]!])).toBe(0);
    expect(breadcrumbDistanceKm([trace[0]!, { ...trace[0]!, at: 5_000 }, { ...trace[0]!, at: 9_000 }])).toBe(0);
  });

  it("skips a GPS jump and measures the next fix from the last good one", () => {
    const withJump = [...trace.slice(0, 5), { lat: 38.5, lng: -121, at: 45_000 }, ...trace.slice(5)];
    expect(breadcrumbDistanceKm(withJump)).toBeCloseTo(straight, 9);
  });

  it("skips a fix at the same instant in another place", () => {
    const duplicate = [...trace.slice(0, 3), { lat: 37.9, lng: -122.4, at: 20_000 }, ...trace.slice(3)];
    expect(breadcrumbDistanceKm(duplicate)).toBeCloseTo(straight, 9);
  });

  it("puts fixes delivered out of order back in time order", () => {
    expect(breadcrumbDistanceKm([...trace].reverse())).toBeCloseTo(straight, 9);
  });

  it("honours a custom speed limit", () => {
    // 40 km/h is above a 30 km/h limit, so only the first fix survives.
    expect(breadcrumbDistanceKm(trace, 30)).toBe(0);
  });

  it("never exceeds the trace's raw length and never goes negative", () => {
    const fix = fc.record({
      lat: fc.double({ min: 37, max: 38, noNaN: true }),
      lng: fc.double({ min: -123, max: -122, noNaN: true }),
      at: fc.integer({ min: 0, max: 3_600_000 }),
    });
    fc.assert(
      fc.property(fc.array(fix, { maxLength: 30 }), (points) => {
        const ordered = [...points].sort((a, b) => a.at - b.at);
        let raw = 0;
        for (let i = 1; i < ordered.length; i++) raw += haversineKm(ordered[i - 1]!, ordered[i]!);
        const km = breadcrumbDistanceKm(points);
        expect(km).toBeGreaterThanOrEqual(0);
        expect(km).toBeLessThanOrEqual(raw + 1e-9);
      }),
    );
  });
});
