import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  countInWindow,
  pruneWindow,
  recordRequest,
  SURGE_MAX,
  SURGE_MIN,
  surgeMultiplier,
} from "../../../src/domain/surge";

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

  it("keeps only the timestamps inside the window", () => {
    const stamps = [now - 90_000, now - windowMs, now - windowMs + 1, now - 10, now, now + 50];
    expect(pruneWindow(stamps, now, windowMs)).toEqual([now - windowMs + 1, now - 10, now, now + 50]);
    expect(countInWindow(stamps, now, windowMs)).toBe(4);
  });

  it("records a request and forgets the expired ones", () => {
    expect(recordRequest([now - 90_000, now - 30_000], now, windowMs)).toEqual([now - 30_000, now]);
    expect(recordRequest([], now, windowMs)).toEqual([now]);
  });

  it("leaves its input alone", () => {
    const stamps = Object.freeze([now - 90_000, now - 1]);
    pruneWindow(stamps, now, windowMs);
    recordRequest(stamps, now, windowMs);
    expect(stamps).toEqual([now - 90_000, now - 1]);
  });
});
