import { describe, expect, it } from "vitest";
import {
  type AreaSnapshot,
  bestFirst,
  matchingSearch,
  nearSearch,
  type SearchStep,
} from "../../../src/domain/area-search";
import type { Candidate } from "../../../src/domain/matching";
import { model, pickup, T0 } from "./fixtures";

const settings = { H3_RESOLUTION: 7, SEARCH_RING: 1, WIDE_SEARCH_RING: 2, travelModel: model };
const options = { point: pickup, now: T0, staleAfterMs: 60_000, exclude: [], travelModel: model };

function candidate(driverId: string, latOffset: number): Candidate {
  const location = { lat: pickup.lat + latOffset, lng: pickup.lng };
  return { driverId, location, locationAt: T0 - 1_000, rating: 4.8, acceptanceRate: 0.9 };
}

/** A fake area: each cell's drivers, and the cells asked, in order. */
function area(drivers: Record<string, Candidate[]>) {
  const asked: string[][] = [];
  const ask = async (cells: string[]): Promise<AreaSnapshot> => {
    asked.push(cells);
    return {
      drivers: cells.flatMap((c) => drivers[c] ?? []),
      center: { availableDrivers: cells.length, recentRequests: 0 },
    };
  };
  return { ask, asked };
}

async function all(found: AsyncGenerator<{ driverId: string }>): Promise<string[]> {
  const ids: string[] = [];
  for await (const c of found) ids.push(c.driverId);
  return ids;
}

describe("nearSearch and matchingSearch", () => {
  it("ask the pickup cell first, then its ring, then (matching only) the wider ring", () => {
    const near = nearSearch(settings, pickup);
    expect(near).toHaveLength(2);
    expect(near[0]?.cells).toHaveLength(1);
    expect(near[0]?.decidedBelowEtaSec).toBeGreaterThan(0);
    expect(near[1]?.cells).toHaveLength(6);
    const matching = matchingSearch(settings, pickup);
    expect(matching.slice(0, 2)).toEqual(near);
    expect(matching[2]?.cells).toHaveLength(12);
  });
});

describe("bestFirst", () => {
  const steps: SearchStep[] = [
    { cells: ["a"], decidedBelowEtaSec: 120 },
    { cells: ["b", "c"], decidedBelowEtaSec: Number.POSITIVE_INFINITY },
  ];

  it("does not ask a later step while the first one's candidates are decided", async () => {
    const { ask, asked } = area({ a: [candidate("close", 0.001)], b: [candidate("far", 0.02)] });
    const found = bestFirst(steps, ask, options);
    expect((await found.next()).value?.driverId).toBe("close");
    expect(asked).toEqual([["a"]]);
    expect(await all(found)).toEqual(["far"]);
    expect(asked).toEqual([["a"], ["b", "c"]]);
  });

  it("ranks an undecided candidate of an earlier step with the next step's, each driver once", async () => {
    const { ask } = area({ a: [candidate("slow", 0.03)], b: [candidate("quick", 0.005), candidate("slow", 0.03)] });
    expect(await all(bestFirst(steps, ask, options))).toEqual(["quick", "slow"]);
  });

  it("leaves out excluded drivers and tells the pickup cell's counts first", async () => {
    const { ask } = area({ a: [candidate("declined", 0.001), candidate("other", 0.002)] });
    const centers: AreaSnapshot["center"][] = [];
    const found = bestFirst(steps, ask, { ...options, exclude: ["declined"] }, (c) => centers.push(c));
    expect(await all(found)).toEqual(["other"]);
    expect(centers).toEqual([{ availableDrivers: 1, recentRequests: 0 }]);
  });
});
