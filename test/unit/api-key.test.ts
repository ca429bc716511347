// Server API keys (README, "Server publish API"): room patterns match exactly or as a prefix
// ending in `*`, never more; a secret is found by its id and checked against its hash.
import { describe, expect, it } from "vitest";
import { apiKeyIdOf, apiKeyMatches, hashApiKey, mintApiKey } from "../../src/auth/api-key";
import { patternMatches, scopeAllows } from "../../src/domain/api-key-scopes";
import { ApiKeyScopes, RoomPattern, SystemSender } from "../../src/protocol/server-api";

describe("room patterns", () => {
  it("match an exact id only, and a prefix only with its star", () => {
    expect(patternMatches("room_abc", "room_abc")).toBe(true);
    expect(patternMatches("room_abc", "room_abcd")).toBe(false);
    expect(patternMatches("room_abc", "room_ab")).toBe(false);
    expect(patternMatches("room_abc*", "room_abcd")).toBe(true);
    expect(patternMatches("support:*", "support:42")).toBe(true);
    expect(patternMatches("support:*", "supportx42")).toBe(false);
    expect(patternMatches("*", "anything")).toBe(true);
  });

  it("are refused with a star anywhere but last, or empty", () => {
    expect(RoomPattern.safeParse("room_*abc").success).toBe(false);
    expect(RoomPattern.safeParse("**").success).toBe(false);
    expect(RoomPattern.safeParse("").success).toBe(false);
    expect(RoomPattern.safeParse("room abc").success).toBe(false);
    expect(RoomPattern.safeParse("support:*").success).toBe(true);
  });

  it("need the action as well as the room", () => {
    const scopes = ApiKeyScopes.parse({ rooms: ["room_abc", "support:*"], actions: ["publish"] });
    expect(scopeAllows(scopes, "publish", "room_abc")).toBe(true);
    expect(scopeAllows(scopes, "publish", "support:7")).toBe(true);
    expect(scopeAllows(scopes, "read", "room_abc")).toBe(false);
    expect(scopeAllows(scopes, "publish", "room_abcd")).toBe(false);
  });
});

describe("key secrets", () => {
  it("carry their id, and match their hash alone", async () => {
    const key = await mintApiKey();
    expect(key.secret.startsWith(`rwk_${key.id}_`)).toBe(true);
    expect(apiKeyIdOf(key.secret)).toBe(key.id);
    expect(key.secretHash).toBe(await hashApiKey(key.secret));
    expect(key.secretHash).not.toContain(key.secret.slice(-43));
    expect(await apiKeyMatches(key.secret, key.secretHash)).toBe(true);
    const other = await mintApiKey();
    // Another key's secret under this key's id: the id finds the row, the hash refuses it.
    const forged = `rwk_${key.id}_${other.secret.slice(-43)}`;
    expect(apiKeyIdOf(forged)).toBe(key.id);
    expect(await apiKeyMatches(forged, key.secretHash)).toBe(false);
  });

  it("are not read from other shapes", () => {
    expect(apiKeyIdOf("eyJhbGciOiJIUzI1NiJ9.e30.x")).toBeNull();
    expect(apiKeyIdOf("rwk_key_short_abc")).toBeNull();
  });
});

describe("sender names", () => {
  it("cannot read as a user id, nor run long", () => {
    expect(SystemSender.safeParse("support-bot").success).toBe(true);
    expect(SystemSender.safeParse("usr_abcdefghij0123456789").success).toBe(false);
    expect(SystemSender.safeParse("system:x").success).toBe(false);
    expect(SystemSender.safeParse("a".repeat(33)).success).toBe(false);
    expect(SystemSender.safeParse("Support").success).toBe(false);
  });
});
