// Who may read a user's last seen (domain/last-seen.ts), every case of the rule.
import { describe, expect, it } from "vitest";
import { lastSeenVisible } from "../../../src/domain/last-seen";
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
