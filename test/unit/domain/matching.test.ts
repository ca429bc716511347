import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { etaSec } from "../../../src/domain/geo";
import { type Candidate, DEFAULT_STALE_AFTER_MS, rankCandidates } from "../../../src/domain/matching";
import { model, pickup, T0 } from "./fixtures";

const options = { ...model, now: T0, staleAfterMs: DEFAULT_STALE_AFTER_MS, exclude: new Set<string>() };

const near = { lat: pickup.lat + 0.002, lng: pickup.lng };
const mid = { lat: pickup.lat + 0.01, lng: pickup.lng };
const far = { lat: pickup.lat + 0.03, lng: pickup.lng };

function candidate(driverId: string, patch: Partial<Candidate> = {}): Candidate {
  return { driverId, location: near, locationAt: T0 - 1_000, rating: 4.8, acceptanceRate: 0.9, ...patch };
}

const ids = (ranked: { driverId: string }[]) => ranked.map((r) => r.driverId);

describe("rankCandidates", () => {
  it("puts the closest driver first and reports pickup ETAs", () => {
    const ranked = rankCandidates(
      [candidate("far", { location: far }), candidate("near"), candidate("mid", { location: mid })],
      pickup,
      options,
    );
    expect(ids(ranked)).toEqual(["near", "mid", "far"]);
    expect(ranked[0]?.pickupEtaSec).toBe(etaSec(near, pickup, model));
  });

  it("breaks ETA ties by rating, then acceptance, then driverId", () => {
    const ranked = rankCandidates(
      [
        candidate("b-low-acceptance", { acceptanceRate: 0.5 }),
        candidate("z-top-rated", { rating: 4.95 }),
        candidate("a-same", {}),
        candidate("c-same", {}),
        candidate("d-low-rated", { rating: 4.1 }),
      ],
      pickup,
      options,
    );
    expect(ids(ranked)).toEqual(["z-top-rated", "a-same", "c-same", "b-low-acceptance", "d-low-rated"]);
  });

  it("ranks a driver without ratings as 4.5 stars and without history as 80% acceptance", () => {
    const ranked = rankCandidates(
      [
        candidate("rated-4.4", { rating: 4.4 }),
        candidate("new", { rating: null }),
        candidate("rated-4.6", { rating: 4.6 }),
      ],
      pickup,
      options,
    );
    expect(ids(ranked)).toEqual(["rated-4.6", "new", "rated-4.4"]);
    const byAcceptance = rankCandidates(
      [
        candidate("a-0.7", { acceptanceRate: 0.7 }),
        candidate("b-unknown", { acceptanceRate: null }),
        candidate("c-0.9", { acceptanceRate: 0.9 }),
      ],
      pickup,
      options,
    );
    expect(ids(byAcceptance)).toEqual(["c-0.9", "b-unknown", "a-0.7"]);
  });

  it("drops stale positions and excluded drivers", () => {
    const ranked = rankCandidates(
      [
        candidate("stale", { locationAt: T0 - DEFAULT_STALE_AFTER_MS - 1 }),
        candidate("just-fresh", { locationAt: T0 - DEFAULT_STALE_AFTER_MS }),
        candidate("declined"),
        candidate("ok", { location: mid }),
      ],
      pickup,
      { ...options, exclude: new Set(["declined"]) },
    );
    expect(ids(ranked)).toEqual(["just-fresh", "ok"]);
  });

  it("counts a driver seen in two cells once, at the freshest position", () => {
    const ranked = rankCandidates(
      [
        candidate("d1", { location: near, locationAt: T0 - 5_000 }),
        candidate("d1", { location: far, locationAt: T0 - 1 }),
      ],
      pickup,
      options,
    );
    expect(ranked).toEqual([{ driverId: "d1", pickupEtaSec: etaSec(far, pickup, model) }]);
  });

  it("skips a candidate whose position is not a number", () => {
    const broken = candidate("broken", { location: { lat: Number.NaN, lng: 0 } });
    const ranked = rankCandidates([broken, candidate("ok")], pickup, options);
    expect(ids(ranked)).toEqual(["ok"]);
  });

  it("returns nothing for no candidates", () => {
    expect(rankCandidates([], pickup, options)).toEqual([]);
  });

  const arbitraryCandidate = fc.record({
    driverId: fc.constantFrom("d1", "d2", "d3", "d4", "d5", "d6"),
    location: fc.record({
      lat: fc.double({ min: 37.7, max: 37.85, noNaN: true }),
      lng: fc.double({ min: -122.5, max: -122.35, noNaN: true }),
    }),
    locationAt: fc.integer({ min: T0 - 120_000, max: T0 }),
    rating: fc.option(fc.double({ min: 1, max: 5, noNaN: true }), { nil: null }),
    acceptanceRate: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
  });

  // Pairs of the same candidates in two orders. Equal (driverId, locationAt) pairs are left
  // out: which of two identical-age sightings wins is arbitrary.
  const twoOrders = fc
    .uniqueArray(arbitraryCandidate, { maxLength: 20, selector: (c) => `${c.driverId}@${c.locationAt}` })
    .chain((cs) => fc.tuple(fc.constant(cs), fc.shuffledSubarray(cs, { minLength: cs.length })));

  it("gives sorted, unique, fresh, allowed drivers whatever the input order", () => {
    fc.assert(
      fc.property(twoOrders, fc.subarray(["d1", "d2", "d3", "d4", "d5", "d6"]), ([candidates, shuffled], excluded) => {
        const opts = { ...options, exclude: new Set(excluded) };
        const ranked = rankCandidates(candidates, pickup, opts);
        const found = ids(ranked);
        expect(new Set(found).size).toBe(found.length);
        for (const id of found) {
          expect(excluded).not.toContain(id);
          expect(candidates.some((c) => c.driverId === id && T0 - c.locationAt <= opts.staleAfterMs)).toBe(true);
        }
        for (let i = 1; i < ranked.length; i++) {
          expect(ranked[i]!.pickupEtaSec).toBeGreaterThanOrEqual(ranked[i - 1]!.pickupEtaSec);
        }
        expect(rankCandidates(shuffled, pickup, opts)).toEqual(ranked);
      }),
    );
  });

  it("leaves its input alone", () => {
    const input = Object.freeze([Object.freeze(candidate("far", { location: far })), Object.freeze(candidate("near"))]);
    rankCandidates(input, pickup, options);
    expect(ids([...input])).toEqual(["far", "near"]);
  });
});
