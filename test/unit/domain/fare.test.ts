import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cancellationCharge,
  computeFare,
  type FarePolicy,
  type FareRules,
  finalCharge,
  judgeTrace,
  quoteEstimate,
  type TraceJudgement,
  type TracePoint,
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

describe("judgeTrace", () => {
  // A fix every 10 s, heading north at about 40 km/h (0.001° of latitude is ~111 m), each
  // received when it was taken.
  const trace = Array.from({ length: 10 }, (_, i) => ({
    lat: 37.7 + i * 0.001,
    lng: -122.4,
    at: i * 10_000,
    receivedAt: i * 10_000,
  }));
  const straight = haversineKm(trace[0]!, trace[9]!);
  const policy = { maxSpeedKmh: 150, maxAheadMs: 5_000 };
  const km = (points: TracePoint[], p = policy) => judgeTrace(points, p).distanceKm;

  it("sums the legs of a clean trace, which is plausible", () => {
    expect(judgeTrace(trace, policy)).toEqual({
      distanceKm: expect.closeTo(straight, 9),
      plausible: true,
      refused: 0,
      last: { lat: trace[9]!.lat, lng: trace[9]!.lng },
    });
  });

  it("is zero for no fixes, one fix, or a driver standing still", () => {
    expect(judgeTrace([], policy)).toEqual({ distanceKm: 0, plausible: true, refused: 0, last: null });
    expect(km([trace[0]!])).toBe(0);
    expect(
      km([trace[0]!, { ...trace[0]!, at: 5_000, receivedAt: 5_000 }, { ...trace[0]!, at: 9_000, receivedAt: 9_000 }]),
    ).toBe(0);
  });

  it("skips a GPS jump, measures the next fix from the last good one, and calls the trace implausible", () => {
    const withJump = [
      ...trace.slice(0, 5),
      { lat: 38.5, lng: -121, at: 45_000, receivedAt: 45_000 },
      ...trace.slice(5),
    ];
    expect(judgeTrace(withJump, policy)).toMatchObject({
      distanceKm: expect.closeTo(straight, 9),
      plausible: false,
      refused: 1,
    });
  });

  it("skips a fix received at the same instant in another place", () => {
    const duplicate = [
      ...trace.slice(0, 3),
      { lat: 37.9, lng: -122.4, at: 20_000, receivedAt: 20_000 },
      ...trace.slice(3),
    ];
    expect(km(duplicate)).toBeCloseTo(straight, 9);
  });

  it("takes fixes in the order the server received them", () => {
    expect(km([...trace].reverse())).toBeCloseTo(straight, 9);
  });

  it("honours a custom speed limit", () => {
    // 40 km/h is above a 30 km/h limit, so only the first fix survives.
    expect(km(trace, { ...policy, maxSpeedKmh: 30 })).toBe(0);
  });

  it("judges speed on the receive times: 4 km sent within 20 s counts nothing, whatever the phone's clock said", () => {
    // The app spread its `at` over 2 minutes (a legal 120 km/h); the server got them 5 s apart.
    const forged = Array.from({ length: 5 }, (_, i) => ({
      lat: 37.7 + i * 0.009,
      lng: -122.4,
      at: i * 30_000,
      receivedAt: 1_000_000 + i * 5_000,
    }));
    expect(judgeTrace(forged, policy)).toMatchObject({ distanceKm: 0, plausible: false, refused: 4 });
  });

  it("credits a burst buffered in a tunnel once the average speed since the last good fix is plausible", () => {
    // Driving at 40 km/h; fixes 1..5 arrive together at 50 s, then the stream goes on.
    const buffered = trace.map((p, i) => (i >= 1 && i <= 5 ? { ...p, receivedAt: 50_000 } : p));
    expect(km(buffered)).toBeCloseTo(straight, 9);
  });

  it("does not believe a fix stamped further ahead of its receipt than the skew", () => {
    const future = [...trace.slice(0, 5), { ...trace[5]!, at: trace[5]!.receivedAt + 5_001 }, ...trace.slice(6)];
    expect(judgeTrace(future, policy)).toMatchObject({
      distanceKm: expect.closeTo(straight, 9),
      plausible: false,
      refused: 1,
    });
    const skewed = [...trace.slice(0, 5), { ...trace[5]!, at: trace[5]!.receivedAt + 5_000 }, ...trace.slice(6)];
    expect(judgeTrace(skewed, policy).plausible).toBe(true);
  });

  it("never exceeds the trace's raw length, nor the top speed times the receive span", () => {
    const fix = fc.record({
      lat: fc.double({ min: 37, max: 38, noNaN: true }),
      lng: fc.double({ min: -123, max: -122, noNaN: true }),
      at: fc.integer({ min: 0, max: 3_600_000 }),
      receivedAt: fc.integer({ min: 0, max: 3_600_000 }),
    });
    fc.assert(
      fc.property(fc.array(fix, { maxLength: 30 }), (points) => {
        const ordered = [...points].sort((a, b) => a.receivedAt - b.receivedAt || a.at - b.at);
        let raw = 0;
        for (let i = 1; i < ordered.length; i++) raw += haversineKm(ordered[i - 1]!, ordered[i]!);
        const span = ordered.length === 0 ? 0 : ordered.at(-1)!.receivedAt - ordered[0]!.receivedAt;
        const judged = km(points);
        expect(judged).toBeGreaterThanOrEqual(0);
        expect(judged).toBeLessThanOrEqual(raw + 1e-9);
        expect(judged).toBeLessThanOrEqual((policy.maxSpeedKmh * span) / 3_600_000 + 1e-9);
      }),
    );
  });
});

describe("finalCharge", () => {
  // A quoted ride of 5 km and 12 minutes, surge 1.0: 250 + 600 + 360 = 1,210.
  const quoteTerms = { distanceKm: 5, durationMin: 12, surge: 1 };
  const quote = { ...quoteTerms, fare: computeFare(rules, quoteTerms).total };
  const policy: FarePolicy = {
    repricePercent: 20,
    capPercent: 50,
    maxSpeedKmh: 150,
    maxAheadMs: 5_000,
    earlyEndKm: 0.5,
  };
  const plausible = (distanceKm: number, last: { lat: number; lng: number } | null = dropoff) => ({
    distanceKm,
    plausible: true,
    refused: 0,
    last,
  });
  const charge = (trace: TraceJudgement, durationMin = 12) =>
    finalCharge({ rules, quote, dropoff, trace, durationMin, policy });

  it("charges the quote for the ride that was quoted, or one a little longer or shorter", () => {
    for (const [km, min] of [
      [5, 12],
      [5.8, 13],
      [3.5, 10],
      [0, 0],
    ] as const) {
      const { fare, decision } = charge(plausible(km), min);
      expect(fare.total).toEqual(quote.fare);
      expect(decision).toMatchObject({
        quoted: quote.fare,
        charged: quote.fare,
        basis: "quote",
        endedEarly: false,
        review: null,
      });
      expect(sum(fare.breakdown)).toBe(quote.fare.amount);
    }
  });

  it("charges the quote when no fix came at all: nothing shows the ride differed", () => {
    expect(charge({ distanceKm: 0, plausible: true, refused: 0, last: null }, 0).fare.total).toEqual(quote.fare);
  });

  it("reprices a ride that was really longer, on a plausible trace", () => {
    const { fare, decision } = charge(plausible(7), 16);
    expect(fare.total.amount).toBe(250 + 840 + 480);
    expect(decision).toMatchObject({ basis: "metered", metered: fare.total, review: null });
  });

  it("caps a much longer ride at the quote plus the cap, and flags the rest for review", () => {
    const { fare, decision } = charge(plausible(40), 90);
    const metered = 250 + 40 * 120 + 90 * 30;
    expect(fare.total.amount).toBe(Math.floor(quote.fare.amount * 1.5));
    expect(fare.breakdown.adjustment).toBe(fare.total.amount - metered);
    expect(sum(fare.breakdown)).toBe(fare.total.amount);
    expect(decision).toMatchObject({
      basis: "capped",
      metered: { amount: metered },
      review: { reason: "above_cap", uncharged: { amount: metered - fare.total.amount, currency: "USD" } },
    });
  });

  it("charges no more than the quote on an implausible trace, and flags the rest", () => {
    const { fare, decision } = charge({ distanceKm: 12, plausible: false, refused: 3, last: dropoff }, 20);
    expect(fare.total).toEqual(quote.fare);
    expect(decision).toMatchObject({ basis: "capped", review: { reason: "implausible_trace" } });
  });

  it("bills the part driven when the ride ended early, far from the dropoff", () => {
    const { fare, decision } = charge(plausible(1.2, pickup), 4);
    expect(fare.total.amount).toBe(Math.max(700, 250 + 144 + 120));
    expect(decision).toMatchObject({ basis: "metered", endedEarly: true, review: null });
  });

  it("never charges more than quote × (1 + cap), nor less than the minimum, and its parts add up (property)", () => {
    const traceArb = fc.record({
      distanceKm: fc.double({ min: 0, max: 500, noNaN: true }),
      plausible: fc.boolean(),
      refused: fc.nat(10),
      last: fc.option(
        fc.record({
          lat: fc.double({ min: 37, max: 38, noNaN: true }),
          lng: fc.double({ min: -123, max: -122, noNaN: true }),
        }),
        { nil: null },
      ),
    });
    const quoteArb = fc.record({
      distanceKm: fc.double({ min: 0, max: 80, noNaN: true }),
      durationMin: fc.double({ min: 0, max: 200, noNaN: true }),
      surge: fc.constantFrom(1, 1.5, 2, 3),
    });
    const policyArb = fc.record({
      repricePercent: fc.integer({ min: 0, max: 50 }),
      capPercent: fc.integer({ min: 50, max: 200 }),
      maxSpeedKmh: fc.constant(150),
      maxAheadMs: fc.constant(5_000),
      earlyEndKm: fc.double({ min: 0.1, max: 5, noNaN: true }),
    });
    fc.assert(
      fc.property(
        traceArb,
        quoteArb,
        policyArb,
        fc.double({ min: 0, max: 600, noNaN: true }),
        (trace, terms, p, durationMin) => {
          const q = { ...terms, fare: computeFare(rules, terms).total };
          const { fare, decision } = finalCharge({ rules, quote: q, dropoff, trace, durationMin, policy: p });
          // In integers: a float of 1 + cap/100 would round the bound itself.
          expect(fare.total.amount * 100).toBeLessThanOrEqual(q.fare.amount * (100 + p.capPercent));
          if (!trace.plausible) expect(fare.total.amount).toBeLessThanOrEqual(q.fare.amount);
          expect(fare.total.amount).toBeGreaterThanOrEqual(rules.minimumMinor);
          expect(Number.isInteger(fare.total.amount)).toBe(true);
          expect(sum(fare.breakdown)).toBe(fare.total.amount);
          expect(decision.charged).toEqual(fare.total);
          // What was not charged is exactly what the review holds.
          if (decision.basis !== "quote")
            expect(decision.metered.amount - fare.total.amount).toBe(decision.review?.uncharged.amount ?? 0);
          if (decision.review) expect(decision.review.uncharged.amount).toBeGreaterThan(0);
        },
      ),
    );
  });
});
