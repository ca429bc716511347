import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DemandWindow, SURGE_MAX, SURGE_MIN, surgeMultiplier } from "../../../src/domain/surge";

const surge = (recentRequests: number, availableDrivers: number) =>
  surgeMultiplier({ recentRequests, availableDrivers });

describe("surgeMultiplier", () => {
  it.each([
    [0, 0, 1.0],
    [0, 10, 1.0],
    [5, 0, 3.0],
    [1, 0, 3.0],
    [1, 1, 1.0],
    [8, 10, 1.0],
    [3, 2, 1.3],
    [2, 1, 1.5],
    [3, 1, 2.0],
    [5, 1, 3.0],
    [100, 1, 3.0],
  ])("%i requests against %i drivers price at %d", (requests, drivers, expected) => {
    expect(surge(requests, drivers)).toBe(expected);
  });

  it("prices broken counts as zero instead of producing NaN", () => {
    expect(surge(Number.NaN, 3)).toBe(1.0);
    expect(surge(-4, 3)).toBe(1.0);
    expect(surge(4, -3)).toBe(3.0);
    expect(surge(Infinity, 3)).toBe(3.0);
  });

  const demand = fc.integer({ min: 0, max: 1_000 });
  const supply = fc.integer({ min: 0, max: 1_000 });

  it("stays within 1.0..3.0 and has one decimal", () => {
    fc.assert(
      fc.property(demand, supply, (d, s) => {
        const m = surge(d, s);
        expect(m).toBeGreaterThanOrEqual(SURGE_MIN);
        expect(m).toBeLessThanOrEqual(SURGE_MAX);
        expect(Math.round(m * 10) / 10).toBe(m);
      }),
    );
  });

  it("rises with demand and falls with supply", () => {
    fc.assert(
      fc.property(demand, demand, supply, supply, (d1, d2, s1, s2) => {
        const [dLo, dHi] = d1 <= d2 ? [d1, d2] : [d2, d1];
        const [sLo, sHi] = s1 <= s2 ? [s1, s2] : [s2, s1];
        expect(surge(dHi, sLo)).toBeGreaterThanOrEqual(surge(dLo, sLo));
        expect(surge(dLo, sHi)).toBeLessThanOrEqual(surge(dLo, sLo));
      }),
    );
  });
});

describe("demand window", () => {
  const now = 1_000_000;
  const windowMs = 60_000;

  it("counts the riders with a request inside the window", () => {
    const w = new DemandWindow(windowMs);
    w.record("t-old", "r1", now - 90_000);
    w.record("t-edge", "r2", now - windowMs);
    w.record("t-in", "r3", now - windowMs + 1);
    w.record("t-now", "r4", now);
    w.record("t-skew", "r5", now + 50);
    expect(w.liveRiders(now)).toBe(3);
    expect(w.prune(now).sort()).toEqual(["t-edge", "t-old"]);
    expect(w.liveRiders(now)).toBe(3);
  });

  it("counts one rider once, however many requests they make", () => {
    const w = new DemandWindow(windowMs);
    for (let i = 0; i < 8; i++) w.record(`t${i}`, "r1", now - i * 1_000);
    w.record("other", "r2", now);
    expect(w.liveRiders(now)).toBe(2);
    // A repeat of the same trip changes nothing.
    expect(w.record("t0", "r9", now)).toBeNull();
    expect(w.liveRiders(now)).toBe(2);
  });

  it("stops counting a withdrawn request, even when the withdrawal comes first", () => {
    const w = new DemandWindow(windowMs);
    w.record("a", "r1", now);
    w.record("b", "r2", now);
    w.withdraw("a", now);
    expect(w.liveRiders(now)).toBe(1);
    // The withdrawal of a request still on its way leaves a tombstone the request cannot revive.
    expect(w.withdraw("c", now)).not.toBeNull();
    expect(w.record("c", "r3", now)).toBeNull();
    expect(w.liveRiders(now)).toBe(1);
    expect(w.withdraw("a", now)).toBeNull();
  });

  it("never counts more than the distinct riders, nor any withdrawn request (property)", () => {
    const event = fc.record({
      trip: fc.integer({ min: 0, max: 15 }),
      rider: fc.integer({ min: 0, max: 4 }),
      withdraw: fc.boolean(),
      dt: fc.integer({ min: -2 * windowMs, max: 0 }),
    });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const w = new DemandWindow(windowMs);
        const riderOf = new Map<number, number>();
        const withdrawn = new Set<number>();
        for (const e of events) {
          if (e.withdraw) {
            w.withdraw(`t${e.trip}`, now + e.dt);
            withdrawn.add(e.trip);
          } else if (w.record(`t${e.trip}`, `r${e.rider}`, now + e.dt)) riderOf.set(e.trip, e.rider);
        }
        const live = new Set([...riderOf].filter(([trip]) => !withdrawn.has(trip)).map(([, rider]) => rider));
        expect(w.liveRiders(now)).toBeLessThanOrEqual(live.size);
        expect(w.liveRiders(now)).toBeLessThanOrEqual(5);
      }),
    );
  });
});
