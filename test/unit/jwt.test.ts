// HS256 tokens (src/auth/jwt.ts): a round trip, and every way a token must be refused — a
// header that is not HS256 (`none` above all), a payload changed under the old signature, the
// wrong key, expiry, a foreign issuer or audience, and strings that are not tokens at all.
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../../src/auth/encoding";
import { signToken, verifyAccessToken, verifyToken, type Identity, type JwtSettings } from "../../src/auth/jwt";

const settings: JwtSettings = {
  secret: "unit-test-secret-0123456789",
  issuer: "ridewire",
  audience: "ridewire-clients",
  ttlSeconds: 3_600,
};
const ada: Identity = { userId: "usr_ada", role: "rider", name: "Ada" };
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const SID = "ses_unit";

const encodeJson = (value: unknown) => toBase64Url(new TextEncoder().encode(JSON.stringify(value)));
const decodeJson = (part: string): Record<string, unknown> =>
  JSON.parse(
    new TextDecoder().decode(
      Uint8Array.from(atob(part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4)), (c) =>
        c.charCodeAt(0),
      ),
    ),
  );

async function hmac(secret: string, input: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input))));
}

/** A token signed correctly with `secret` over any header and claims the test chooses. */
async function forge(header: unknown, claims: unknown, secret = settings.secret): Promise<string> {
  const input = `${encodeJson(header)}.${encodeJson(claims)}`;
  return `${input}.${await hmac(secret, input)}`;
}

const validClaims = (overrides: Record<string, unknown> = {}) => ({
  sub: ada.userId,
  role: ada.role,
  name: ada.name,
  iss: settings.issuer,
  aud: settings.audience,
  iat: Math.floor(NOW / 1000),
  exp: Math.floor(NOW / 1000) + 600,
  sid: SID,
  ...overrides,
});

describe("signToken / verifyToken", () => {
  it("round-trips the identity", async () => {
    const token = await signToken(ada, settings, NOW, SID);
    expect(token.split(".")).toHaveLength(3);
    expect(await verifyToken(token, settings, NOW)).toEqual(ada);
    expect(await verifyToken(token, settings, NOW + 3_599_000)).toEqual(ada);
  });

  it("writes an HS256 header and the standard claims", async () => {
    const [header, payload] = (
      await signToken({ userId: "usr_bo", role: "driver", name: "Bo" }, settings, NOW, SID)
    ).split(".") as [string, string];
    expect(decodeJson(header)).toEqual({ alg: "HS256", typ: "JWT" });
    const iat = Math.floor(NOW / 1000);
    expect(decodeJson(payload)).toEqual({
      sub: "usr_bo",
      role: "driver",
      name: "Bo",
      iss: "ridewire",
      aud: "ridewire-clients",
      iat,
      exp: iat + 3_600,
      sid: SID,
    });
  });

  it("accepts a token built by hand the same way (the format is plain JWT)", async () => {
    const token = await forge({ alg: "HS256", typ: "JWT" }, validClaims());
    expect(await verifyToken(token, settings, NOW)).toEqual(ada);
    expect(await verifyToken(await forge({ alg: "HS256" }, validClaims()), settings, NOW)).toEqual(ada);
  });

  it("answers the session and expiry of a token, and rejects one that names no session", async () => {
    const token = await signToken(ada, settings, NOW, SID);
    expect(await verifyAccessToken(token, settings, NOW)).toEqual({
      identity: ada,
      sid: SID,
      expiresAt: (Math.floor(NOW / 1000) + 3_600) * 1000,
    });
    const { sid: _sid, ...withoutSid } = validClaims();
    expect(await verifyToken(await forge({ alg: "HS256", typ: "JWT" }, withoutSid), settings, NOW)).toBeNull();
    expect(
      await verifyToken(await forge({ alg: "HS256", typ: "JWT" }, validClaims({ sid: "" })), settings, NOW),
    ).toBeNull();
  });

  it("rejects alg none, with or without a signature", async () => {
    const header = encodeJson({ alg: "none", typ: "JWT" });
    const payload = encodeJson(validClaims());
    const signed = await signToken(ada, settings, NOW, SID);
    expect(await verifyToken(`${header}.${payload}.`, settings, NOW)).toBeNull();
    expect(await verifyToken(`${header}.${payload}`, settings, NOW)).toBeNull();
    expect(await verifyToken(`${header}.${payload}.${signed.split(".")[2]}`, settings, NOW)).toBeNull();
    // Even a correct HMAC does not make a non-HS256 header acceptable.
    for (const alg of ["none", "None", "NONE", "HS384", "HS512", "RS256", "hs256"]) {
      expect(await verifyToken(await forge({ alg, typ: "JWT" }, validClaims()), settings, NOW), alg).toBeNull();
    }
    expect(await verifyToken(await forge({ typ: "JWT" }, validClaims()), settings, NOW)).toBeNull();
    expect(await verifyToken(await forge({ alg: "HS256", typ: "JWS" }, validClaims()), settings, NOW)).toBeNull();
  });

  it("rejects a changed payload under the old signature", async () => {
    const [header, , signature] = (await signToken(ada, settings, NOW, SID)).split(".") as [string, string, string];
    for (const claims of [
      validClaims({ role: "driver" }),
      validClaims({ sub: "usr_admin" }),
      validClaims({ exp: Math.floor(NOW / 1000) + 10 * 365 * 86_400 }),
    ]) {
      expect(await verifyToken(`${header}.${encodeJson(claims)}.${signature}`, settings, NOW)).toBeNull();
    }
  });

  it("rejects a changed header or signature", async () => {
    const [header, payload, signature] = (await signToken(ada, settings, NOW, SID)).split(".") as [
      string,
      string,
      string,
    ];
    const flipped = (signature[0] === "A" ? "B" : "A") + signature.slice(1);
    expect(await verifyToken(`${header}.${payload}.${flipped}`, settings, NOW)).toBeNull();
    expect(await verifyToken(`${header}.${payload}.${signature.slice(0, -2)}`, settings, NOW)).toBeNull();
    expect(await verifyToken(`${header}.${payload}.${signature}AAAA`, settings, NOW)).toBeNull();
    expect(await verifyToken(`${header}.${payload}.`, settings, NOW)).toBeNull();
    expect(
      await verifyToken(`${encodeJson({ typ: "JWT", alg: "HS256" })}.${payload}.${signature}`, settings, NOW),
    ).toBeNull();
  });

  it("rejects a token signed with another secret", async () => {
    const token = await signToken(ada, { ...settings, secret: "some-other-secret-0123456789" }, NOW, SID);
    expect(await verifyToken(token, settings, NOW)).toBeNull();
    expect(
      await verifyToken(await forge({ alg: "HS256", typ: "JWT" }, validClaims(), "wrong"), settings, NOW),
    ).toBeNull();
  });

  it("rejects an expired token, from the second of expiry on", async () => {
    const token = await signToken(ada, settings, NOW, SID);
    const exp = Math.floor(NOW / 1000) + settings.ttlSeconds;
    expect(await verifyToken(token, settings, exp * 1000 - 1)).toEqual(ada);
    expect(await verifyToken(token, settings, exp * 1000)).toBeNull();
    expect(await verifyToken(token, settings, exp * 1000 + 86_400_000)).toBeNull();
    const stale = await forge(
      { alg: "HS256", typ: "JWT" },
      validClaims({ iat: Math.floor(NOW / 1000) - 7_200, exp: Math.floor(NOW / 1000) - 3_600 }),
    );
    expect(await verifyToken(stale, settings, NOW)).toBeNull();
  });

  it("rejects a foreign issuer or audience", async () => {
    expect(
      await verifyToken(await signToken(ada, { ...settings, issuer: "someone-else" }, NOW, SID), settings, NOW),
    ).toBeNull();
    expect(
      await verifyToken(await signToken(ada, { ...settings, audience: "other-clients" }, NOW, SID), settings, NOW),
    ).toBeNull();
    expect(
      await verifyToken(await forge({ alg: "HS256" }, validClaims({ iss: "Ridewire" })), settings, NOW),
    ).toBeNull();
    expect(
      await verifyToken(await forge({ alg: "HS256" }, validClaims({ aud: ["ridewire-clients"] })), settings, NOW),
    ).toBeNull();
  });

  it("rejects correctly signed claims of the wrong shape", async () => {
    const bad = [
      validClaims({ sub: "" }),
      validClaims({ sub: 42 }),
      validClaims({ role: "superuser" }),
      validClaims({ exp: "never" }),
      validClaims({ exp: undefined }),
      validClaims({ iss: undefined }),
      validClaims({ aud: undefined }),
      validClaims({ exp: Math.floor(NOW / 1000) + 0.5 }),
      "a string",
      null,
      [validClaims()],
    ];
    for (const claims of bad)
      expect(
        await verifyToken(await forge({ alg: "HS256" }, claims), settings, NOW),
        JSON.stringify(claims),
      ).toBeNull();
  });

  it("returns null, never throws, for strings that are not tokens", async () => {
    const token = await signToken(ada, settings, NOW, SID);
    const garbage = [
      "",
      ".",
      "..",
      "...",
      "a.b.c",
      "not-a-token",
      `Bearer ${token}`,
      `${token}.`,
      `.${token}`,
      token.replace(/\./g, ""),
      token.split(".").slice(0, 2).join("."),
      `${token}.extra`,
      "!!!.@@@.###",
      `${encodeJson({ alg: "HS256" })}.%%%.${token.split(".")[2]}`,
      "eyJ.eyJ.eyJ",
      `${btoa(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${btoa(JSON.stringify(validClaims()))}.` +
        `${token.split(".")[2]}`,
      "x".repeat(10_000),
    ];
    for (const candidate of garbage) {
      await expect(verifyToken(candidate, settings, NOW), candidate.slice(0, 60)).resolves.toBeNull();
    }
  });
});
