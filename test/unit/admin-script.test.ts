// scripts/admin.mjs, the way to make the first operator: it refuses bad emails and options,
// writes a password hash the service verifies, and puts every value into SQL as a hex literal
// that no input can break out of.
import { describe, expect, it } from "vitest";
import {
  checkEmail,
  createSql,
  hashPassword,
  parseArgs,
  promoteSql,
  sqlText,
  UsageError,
} from "../../scripts/admin.mjs";
import { verifyPassword } from "../../src/auth/password";

describe("npm run admin -- create", () => {
  it("takes a wrangler.toml environment for the deployed database, and refuses anything else there", () => {
    expect(parseArgs(["create", "ops@example.com", "--remote", "--env", "staging"]).env).toBe("staging");
    expect(parseArgs(["create", "ops@example.com"]).env).toBeUndefined();
    for (const bad of ["--remote;rm", "Staging", "", "-x"])
      expect(() => parseArgs(["create", "ops@example.com", "--env", bad]), bad).toThrow(UsageError);
    expect(() => parseArgs(["create", "ops@example.com", "--env"])).toThrow(UsageError);
  });

  it("takes an email with options, normalised as registration stores it", () => {
    expect(parseArgs(["create", " Ops@Example.COM ", "--password", "correct horse", "--name", "Night Ops"])).toEqual({
      email: "ops@example.com",
      password: "correct horse",
      name: "Night Ops",
      remote: false,
      persistTo: undefined,
    });
    expect(parseArgs(["create", "ops@example.com", "--remote"]).remote).toBe(true);
  });

  it("refuses bad emails, commands and options", () => {
    for (const email of [
      "",
      "no-at-sign",
      "a@b",
      "x'; DROP TABLE users;--@example.com",
      "a b@example.com",
      "a@exa mple.com",
      `${"a".repeat(250)}@example.com`,
      "a@@example.com",
    ]) {
      expect(() => checkEmail(email), email).toThrow(UsageError);
    }
    for (const argv of [
      [],
      ["delete", "a@example.com"],
      ["create"],
      ["create", "a@example.com", "b@example.com"],
      ["create", "a@example.com", "--password"],
      ["create", "a@example.com", "--password", "short"],
      ["create", "a@example.com", "--force"],
      ["create", "a@example.com", "--remote", "--persist-to", "x"],
      ["create", "a@example.com", "--name", " "],
    ]) {
      expect(() => parseArgs(argv), argv.join(" ")).toThrow(UsageError);
    }
  });

  it("writes a password hash that the service's login verifies", async () => {
    const stored = await hashPassword("correct horse battery");
    expect(await verifyPassword("correct horse battery", stored)).toBe(true);
    expect(await verifyPassword("wrong horse battery", stored)).toBe(false);
  });

  it("puts values into SQL as hex literals only", () => {
    const hostile = "o'neil\"); DROP TABLE users; --";
    expect(sqlText(hostile)).toBe(`CAST(X'${Buffer.from(hostile).toString("hex")}' AS TEXT)`);
    const sql =
      createSql(
        { id: "usr_1", email: "a@example.com", name: hostile, passwordHash: "pbkdf2-sha256$1$a$b" },
        1_700_000_000_000,
      ) + promoteSql("a@example.com", 1);
    expect(sql).not.toContain("DROP");
    expect(sql).not.toContain("a@example.com");
    // Apart from the hex literals and the script's own constants, no quote is left: nothing typed reached SQL as text.
    const rest = sql.replace(/X'[0-9a-f]*'/g, "").replace(/'(admin|admin\.create|user|npm run admin -- create)'/g, "");
    expect(rest).not.toContain("'");
  });
});
