// Password hashing (src/auth/password.ts): the stored format, the iteration count, per-user
// salts, and that a tampered or malformed stored string is a plain `false`, never a throw.
import { describe, expect, it } from "vitest";
import {
  decoyPasswordHash,
  describeHash,
  hashPassword,
  PBKDF2_ITERATIONS,
  verifyPassword,
} from "../../src/auth/password";

const BASE64URL = /^[A-Za-z0-9_-]+$/;

describe("hashPassword", () => {
  it("stores pbkdf2-sha256$100000$<salt>$<hash> in base64url", async () => {
    const stored = await hashPassword("correct horse battery staple");
    const parts = stored.split("$");
    expect(parts).toHaveLength(4);
    const [algorithm, iterations, salt, hash] = parts as [string, string, string, string];
    expect(algorithm).toBe("pbkdf2-sha256");
    expect(iterations).toBe("100000");
    expect(salt).toMatch(BASE64URL);
    expect(hash).toMatch(BASE64URL);
    // 16 bytes of salt and 32 bytes of hash, unpadded.
    expect(salt).toHaveLength(22);
    expect(hash).toHaveLength(43);
  });

  it("uses exactly 100,000 iterations", async () => {
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    expect(describeHash(await hashPassword("password123"))).toEqual({
      algorithm: "pbkdf2-sha256",
      iterations: 100_000,
    });
  });

  it("salts every hash: one password hashed twice gives two different strings", async () => {
    const [a, b] = await Promise.all([hashPassword("same password"), hashPassword("same password")]);
    expect(a).not.toBe(b);
    expect(a.split("$")[2]).not.toBe(b.split("$")[2]);
    expect(await verifyPassword("same password", a)).toBe(true);
    expect(await verifyPassword("same password", b)).toBe(true);
  });
});

describe("verifyPassword", () => {
  it("accepts the right password and rejects a wrong one", async () => {
    const stored = await hashPassword("s3cret-password");
    expect(await verifyPassword("s3cret-password", stored)).toBe(true);
    expect(await verifyPassword("s3cret-passwore", stored)).toBe(false);
    expect(await verifyPassword("S3cret-password", stored)).toBe(false);
    expect(await verifyPassword("s3cret-password ", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("handles non-ASCII passwords", async () => {
    const stored = await hashPassword("pässwörd-🔑-密码");
    expect(await verifyPassword("pässwörd-🔑-密码", stored)).toBe(true);
    expect(await verifyPassword("passwörd-🔑-密码", stored)).toBe(false);
  });

  it("verifies a hash made with another iteration count, as the stored string says", async () => {
    // A hash stored with fewer iterations (an older setting) still verifies.
    const stored = await hashPassword("old account");
    const [, , salt] = stored.split("$");
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("old account"), "PBKDF2", false, [
      "deriveBits",
    ]);
    const saltBytes = Uint8Array.from(atob(`${salt!.replace(/-/g, "+").replace(/_/g, "/")}==`), (ch) =>
      ch.charCodeAt(0),
    );
    const bits = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: saltBytes, iterations: 1_000 }, key, 256),
    );
    const hash = btoa(String.fromCharCode(...bits))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const older = `pbkdf2-sha256$1000$${salt}$${hash}`;
    expect(await verifyPassword("old account", older)).toBe(true);
    expect(await verifyPassword("other", older)).toBe(false);
    // The same hash claimed at the current count does not verify.
    expect(await verifyPassword("old account", `pbkdf2-sha256$100000$${salt}$${hash}`)).toBe(false);
  });

  it("rejects a stored string whose salt, hash, algorithm or count was changed", async () => {
    const password = "tamper-me-please";
    const stored = await hashPassword(password);
    const [algorithm, iterations, salt, hash] = stored.split("$") as [string, string, string, string];
    const flip = (text: string) => (text[0] === "A" ? "B" : "A") + text.slice(1);
    const tampered = [
      [algorithm, iterations, flip(salt), hash],
      [algorithm, iterations, salt, flip(hash)],
      [algorithm, "99999", salt, hash],
      ["pbkdf2-sha512", iterations, salt, hash],
      ["PBKDF2-SHA256", iterations, salt, hash],
      [algorithm, iterations, salt, hash.slice(0, -1)],
      [algorithm, iterations, salt, `${hash}AA`],
    ].map((p) => p.join("$"));
    for (const candidate of tampered) expect(await verifyPassword(password, candidate), candidate).toBe(false);
  });

  it("returns false, never throws, for malformed stored strings", async () => {
    const password = "whatever-password";
    const { 2: salt, 3: hash } = (await hashPassword(password)).split("$") as [string, string, string, string];
    const malformed = [
      "",
      "$",
      "$$$",
      "plaintext-password",
      password,
      "pbkdf2-sha256",
      "pbkdf2-sha256$100000",
      `pbkdf2-sha256$100000$${salt}`,
      `pbkdf2-sha256$100000$${salt}$`,
      `pbkdf2-sha256$100000$$${hash}`,
      `pbkdf2-sha256$$${salt}$${hash}`,
      `pbkdf2-sha256$0$${salt}$${hash}`,
      `pbkdf2-sha256$-1$${salt}$${hash}`,
      `pbkdf2-sha256$1.5$${salt}$${hash}`,
      `pbkdf2-sha256$abc$${salt}$${hash}`,
      `pbkdf2-sha256$1e5$${salt}$${hash}`,
      `pbkdf2-sha256$Infinity$${salt}$${hash}`,
      // Counts the runtime cannot (Workers caps PBKDF2 at 100,000) or should not attempt.
      `pbkdf2-sha256$100001$${salt}$${hash}`,
      `pbkdf2-sha256$1000000000000$${salt}$${hash}`,
      // Characters outside base64url, and impossible base64 lengths.
      `pbkdf2-sha256$100000$${salt}$${hash.slice(0, -1)}!`,
      `pbkdf2-sha256$100000$${salt}+/$${hash}`,
      `pbkdf2-sha256$100000$not base64$${hash}`,
      `pbkdf2-sha256$100000$${salt}$A`,
      `pbkdf2-sha256$100000$A$${hash}`,
      `pbkdf2-sha256$100000$${salt}$${hash}=`,
      // Trailing parts are not part of the format.
      `pbkdf2-sha256$100000$${salt}$${hash}$extra`,
    ];
    for (const stored of malformed) {
      await expect(verifyPassword(password, stored), stored).resolves.toBe(false);
    }
  });
});

describe("describeHash", () => {
  it("reads the algorithm and count, and tolerates garbage", () => {
    expect(describeHash("pbkdf2-sha256$100000$abc$def")).toEqual({ algorithm: "pbkdf2-sha256", iterations: 100_000 });
    expect(describeHash("")).toEqual({ algorithm: "", iterations: 0 });
    expect(Number.isNaN(describeHash("x$y").iterations)).toBe(true);
  });
});

describe("decoyPasswordHash", () => {
  it("is a valid hash in the current format that the usual passwords do not match", async () => {
    const decoy = await decoyPasswordHash();
    expect(decoy).toBe(await decoyPasswordHash());
    expect(describeHash(decoy)).toEqual({ algorithm: "pbkdf2-sha256", iterations: PBKDF2_ITERATIONS });
    expect(await verifyPassword("password123", decoy)).toBe(false);
  });
});
