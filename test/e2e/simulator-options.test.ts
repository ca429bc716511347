// The simulator's options for the ride features (scripts/simulator/options.ts) and the tip
// bound its riders stay within (scripts/simulator/tips.ts): pure functions, no server needed.
import { describe, expect, it } from "vitest";
import { parseOptions, UsageError } from "../../scripts/simulator/options";
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

describe("tip bound", () => {
  it("is the lower of half the fare (rounded down) and 100.00", () => {
    expect(tipBound(1_001)).toBe(500);
    expect(tipBound(1)).toBe(0);
    expect(tipBound(20_000)).toBe(10_000);
    expect(tipBound(1_000_000)).toBe(10_000);
  });
});
