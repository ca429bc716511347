// The SDK tells a backend's message (server publish API, `userId` `system:<sender>`) from a member's.
import { describe, expect, it } from "vitest";
import { systemSenderOf } from "@ridewire/client";
import { systemUserId } from "../../../src/protocol/server-api";

describe("systemSenderOf", () => {
  it("names the sender of a server's message, and nobody for a member's", () => {
    expect(systemSenderOf({ userId: systemUserId("support-bot") })).toBe("support-bot");
    expect(systemSenderOf({ userId: "usr_0a1b2c3d4e5f6g7h8i9j" })).toBeNull();
    expect(systemSenderOf({ userId: "systemx" })).toBeNull();
  });
});
