import { describe, expect, it } from "vitest";
import type { FareRules } from "../../../src/domain/fare";
import { defaultTierOf, tierFareRules, TiersSetting, tiersAt, tiersServed, type Tier } from "../../../src/domain/tiers";

const parse = (raw: string) => TiersSetting.parse(raw);
const tiers: Tier[] = parse(
  JSON.stringify([
    { name: "economy" },
    { name: "comfort", multiplier: 1.4, minimumMinor: 1000, accepts: ["economy"] },
    { name: "xl", multiplier: 1.7, seats: 6, accepts: ["economy", "comfort"] },
  ]),
);

const base: FareRules = {
  currency: "USD",
  baseMinor: 250,
  perKmMinor: 120,
  perMinuteMinor: 30,
  minimumMinor: 700,
  cancellationFeeMinor: 500,
};

describe("TIERS", () => {
  it("defaults to economy alone, which prices as the FARE_* values", () => {
    const only = TiersSetting.parse(undefined);
    expect(only.map((t) => t.name)).toEqual(["economy"]);
    expect(tierFareRules(base, only[0] as Tier)).toEqual(base);
    expect(defaultTierOf(only)).toBe("economy");
  });

  it("refuses bad JSON, duplicates, bad names and accepts of unknown tiers", () => {
    for (const bad of [
      "{",
      "[]",
      '[{"name":"Economy"}]',
      '[{"name":"economy"},{"name":"economy"}]',
      '[{"name":"comfort","accepts":["economy"]}]',
      '[{"name":"economy","multiplier":0}]',
      '[{"name":"economy","price":3}]',
    ])
      expect(TiersSetting.safeParse(bad).success, bad).toBe(false);
  });
});

describe("tierFareRules", () => {
  it("scales what a tier does not set and keeps what it sets", () => {
    expect(tierFareRules(base, tiers[1] as Tier)).toEqual({
      ...base,
      baseMinor: 350,
      perKmMinor: 168,
      perMinuteMinor: 42,
      minimumMinor: 1000,
    });
  });
});

describe("tiersServed", () => {
  it("serves the vehicle's tier, the lower ones it accepts on opting in, the default without a vehicle", () => {
    expect(tiersServed(tiers, "comfort", false)).toEqual(["comfort"]);
    expect(tiersServed(tiers, "comfort", true)).toEqual(["comfort", "economy"]);
    expect(tiersServed(tiers, "xl", true)).toEqual(["xl", "economy", "comfort"]);
    expect(tiersServed(tiers, null, true)).toEqual(["economy"]);
    expect(tiersServed(tiers, "moto", true)).toEqual([]);
  });
});

describe("tiersAt", () => {
  const square: [number, number][] = [
    [0, 0],
    [1, 0],
    [1, 1],
    [0, 1],
  ];
  it("offers an area's tiers in TIERS' order, every tier without a list, none outside", () => {
    const areas = [{ name: "a", polygon: square, tiers: ["xl", "economy", "limo"] }];
    expect(tiersAt(tiers, areas, { lat: 0.5, lng: 0.5 }).map((t) => t.name)).toEqual(["economy", "xl"]);
    expect(tiersAt(tiers, areas, { lat: 5, lng: 5 })).toEqual([]);
    expect(tiersAt(tiers, [], { lat: 5, lng: 5 }).map((t) => t.name)).toEqual(["economy", "comfort", "xl"]);
  });
});
