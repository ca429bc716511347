// The spread write-behind delay (rooms/sequenced-log.ts `spreadDelay`): a chat message waits at
// most MESSAGE_ARCHIVE_DELAY_MS and at least half of it for its copy to D1, and rooms with
// different shares wait different times, so rooms that got busy together do not flush together.
import { describe, expect, it } from "vitest";
import { spreadDelay } from "../../src/rooms/sequenced-log";

describe("spreadDelay", () => {
  it("is between half the delay and all of it, whatever the share", () => {
    for (const share of [0, 0.25, 0.5, 0.999, 1, -1, 2]) {
      const wait = spreadDelay(5_000, share);
      expect(wait).toBeGreaterThanOrEqual(2_500);
      expect(wait).toBeLessThanOrEqual(5_000);
    }
  });

  it("gives rooms of different shares different waits", () => {
    const waits = Array.from({ length: 100 }, (_, i) => spreadDelay(5_000, i / 100));
    expect(new Set(waits).size).toBe(100);
  });

  it("copies at once with no delay", () => {
    expect(spreadDelay(0, 0.7)).toBe(0);
  });
});
