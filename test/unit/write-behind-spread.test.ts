// The spread write-behind delay (rooms/sequenced-log.ts `spreadDelay`): a chat message waits at
// most MESSAGE_ARCHIVE_DELAY_MS and at least half of it for its copy to D1, and rooms with
// different shares wait different times, so rooms that got busy together do not flush together.
// And the beat itself (`archiveBeat`): the short one for a room that has not copied lately, the
// busy one for a room that copied within it.
import { describe, expect, it } from "vitest";
import { archiveBeat, spreadDelay } from "../../src/rooms/sequenced-log";

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

describe("archiveBeat", () => {
  const now = 1_000_000;

  it("is the short beat for a room that has not copied since it woke", () => {
    expect(archiveBeat(5_000, 15_000, null, now)).toBe(5_000);
  });

  it("is the busy beat for a room that copied less than the busy beat ago", () => {
    expect(archiveBeat(5_000, 15_000, now - 1, now)).toBe(15_000);
    expect(archiveBeat(5_000, 15_000, now - 14_999, now)).toBe(15_000);
  });

  it("is the short beat again once the room has been quiet for the busy beat", () => {
    expect(archiveBeat(5_000, 15_000, now - 15_000, now)).toBe(5_000);
    expect(archiveBeat(5_000, 15_000, now - 60_000, now)).toBe(5_000);
  });

  it("never shortens the beat: a busy beat at or below the short one leaves the short one", () => {
    expect(archiveBeat(5_000, 2_000, now - 1_000, now)).toBe(5_000);
    expect(archiveBeat(5_000, 0, now - 1, now)).toBe(5_000);
  });
});
