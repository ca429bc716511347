// Who may read a user's last seen, every case of the rule, and when a room writes it (domain/last-seen.ts).
import { describe, expect, it } from "vitest";
import { LAST_SEEN_RESOLUTION_MS, LastSeenThrottle, lastSeenVisible } from "../../../src/domain/last-seen";
import type { LastSeenVisibility } from "../../../src/protocol/http";

const SETTINGS: LastSeenVisibility[] = ["everyone", "contacts", "nobody"];

describe("lastSeenVisible", () => {
  it("always shows a user their own, whatever the setting", () => {
    for (const visibility of SETTINGS)
      expect(lastSeenVisible({ self: true, visibility, blocksViewer: false, contact: false })).toBe(true);
  });

  it("follows the setting for a contact and a stranger", () => {
    const seen = (visibility: LastSeenVisibility, contact: boolean) =>
      lastSeenVisible({ self: false, visibility, blocksViewer: false, contact });
    expect([seen("everyone", true), seen("contacts", true), seen("nobody", true)]).toEqual([true, true, false]);
    expect([seen("everyone", false), seen("contacts", false), seen("nobody", false)]).toEqual([true, false, false]);
  });

  it("hides it from a viewer the user blocks, whatever the setting", () => {
    for (const visibility of SETTINGS)
      expect(lastSeenVisible({ self: false, visibility, blocksViewer: true, contact: true })).toBe(false);
  });
});

describe("LastSeenThrottle", () => {
  it("writes a first connection, and every close however soon", () => {
    const throttle = new LastSeenThrottle();
    expect(throttle.shouldWrite("u1", "join", 0)).toBe(true);
    expect(throttle.shouldWrite("u1", "leave", 1_000)).toBe(true);
    expect(throttle.shouldWrite("u1", "leave", 1_001)).toBe(true);
  });

  it("skips a reconnect within a minute of the room's last write of that user, not after", () => {
    const throttle = new LastSeenThrottle();
    expect(throttle.shouldWrite("u1", "join", 0)).toBe(true);
    expect(throttle.shouldWrite("u1", "leave", 10_000)).toBe(true);
    // The minute counts from the close, the last write.
    expect(throttle.shouldWrite("u1", "join", 10_000 + LAST_SEEN_RESOLUTION_MS - 1)).toBe(false);
    expect(throttle.shouldWrite("u1", "leave", 10_000 + LAST_SEEN_RESOLUTION_MS)).toBe(true);
    expect(throttle.shouldWrite("u1", "join", 10_000 + 2 * LAST_SEEN_RESOLUTION_MS)).toBe(true);
  });

  it("keeps users apart", () => {
    const throttle = new LastSeenThrottle();
    expect(throttle.shouldWrite("u1", "join", 0)).toBe(true);
    expect(throttle.shouldWrite("u2", "join", 1)).toBe(true);
    expect(throttle.shouldWrite("u1", "join", 2)).toBe(false);
  });

  it("forgets users written over a minute ago once it holds many", () => {
    const throttle = new LastSeenThrottle(3);
    for (const [i, user] of ["a", "b", "c"].entries()) throttle.shouldWrite(user, "join", i);
    throttle.shouldWrite("d", "join", LAST_SEEN_RESOLUTION_MS + 5);
    expect(throttle.size).toBe(1);
    // A forgotten user's reconnect writes, as it would have after a minute anyway.
    expect(throttle.shouldWrite("a", "join", LAST_SEEN_RESOLUTION_MS + 6)).toBe(true);
  });
});
