// The simulator's options for the ride features (scripts/simulator/options.ts), the tip bound
// its riders stay within (scripts/simulator/tips.ts) and the tier they pick from the quotes
// (scripts/simulator/rider.ts): pure functions, no server needed.
import type { Quote } from "@ridewire/client";
import { describe, expect, it } from "vitest";
import { parseOptions, UsageError } from "../../scripts/simulator/options";
import { pickTier } from "../../scripts/simulator/rider";
import { tipBound } from "../../scripts/simulator/tips";

describe("simulator options", () => {
  it("default to some tips, a few scheduled rides, booked past the server's default 15 min lead", () => {
    expect(parseOptions([])).toMatchObject({ tip: 0.4, scheduled: 0.1, scheduleLead: 960 });
  });

  it("take --tip, --scheduled and --schedule-lead within their ranges and refuse others", () => {
    expect(parseOptions(["--tip", "1", "--scheduled", "0", "--schedule-lead", "60"])).toMatchObject({
      tip: 1,
      scheduled: 0,
      scheduleLead: 60,
    });
    for (const bad of [
      ["--tip", "1.5"],
      ["--tip", "-0.1"],
      ["--scheduled", "two"],
      ["--schedule-lead", "59"],
      ["--schedule-lead", "86401"],
    ])
      expect(() => parseOptions(bad), bad.join(" ")).toThrow(UsageError);
  });
});

describe("tier options", () => {
  it("default to a third of rides upgraded and half the drivers taking lower tiers, within 0..1", () => {
    expect(parseOptions([])).toMatchObject({ upgrade: 0.3, acceptLower: 0.5 });
    expect(parseOptions(["--upgrade", "1", "--accept-lower", "0"])).toMatchObject({ upgrade: 1, acceptLower: 0 });
    for (const bad of [
      ["--upgrade", "2"],
      ["--accept-lower", "-1"],
      ["--upgrade", "some"],
    ])
      expect(() => parseOptions(bad), bad.join(" ")).toThrow(UsageError);
  });
});

describe("pickTier", () => {
  const quote = (tier: string, pickupEtaSec: number | null) => ({ id: `q-${tier}`, tier, pickupEtaSec }) as Quote;
  const economy = quote("economy", 120);
  const comfort = quote("comfort", 300);
  const xl = quote("xl", 200);

  it("takes another tier only with probability `upgrade`, and only one quoted with a pickup ETA", () => {
    expect(pickTier([economy, comfort], 1, () => 0)).toBe(comfort);
    expect(pickTier([economy, comfort], 0.3, () => 0.5)).toBe(economy);
    expect(pickTier([economy, comfort], 0, () => 0)).toBe(economy);
    // No driver near for comfort: the default tier, not a request that would find nobody.
    expect(pickTier([economy, quote("comfort", null), xl], 1, () => 0)).toBe(xl);
    expect(pickTier([economy, quote("comfort", null)], 1, () => 0)).toBe(economy);
  });

  it("keeps the default tier even with no driver near it, and refuses an empty answer", () => {
    expect(pickTier([quote("economy", null)], 1, () => 0)).toMatchObject({ tier: "economy" });
    expect(() => pickTier([], 1)).toThrow();
  });
});

describe("tip bound", () => {
  it("is the lower of half the fare (rounded down) and 100.00", () => {
    expect(tipBound(1_001)).toBe(500);
    expect(tipBound(1)).toBe(0);
    expect(tipBound(20_000)).toBe(10_000);
    expect(tipBound(1_000_000)).toBe(10_000);
  });
});
