/**
 * `POST /v1/auth/password` through the public API: the current password is checked and counted
 * against the login limits (shared with the login form), the new one follows the registration
 * rules, every other session of the user ends with the change while the caller's stays, an
 * ended session cannot make the change, and the security notice reaches the email stand-in
 * through the real queue, even with the email channel muted.
 */
import { describe, expect, it } from "vitest";
import { call, unique, type WireJson } from "../helpers/api";
import { emailsTo, waitForEmails } from "../helpers/channels";
import { expectError } from "../helpers/chat";

const LOGIN_MAX_FAILURES = 10;
const PASSWORD = "password123";

let ipCounter = 0;
const ip = () => `198.51.${100 + (ipCounter % 100)}.${(Date.now() + ipCounter++) % 250}`;

async function register(name = "Pat") {
  const email = `${unique("pw")}@example.com`;
  const res = await call("POST", "/v1/auth/register", { body: { email, password: PASSWORD, name, role: "rider" } });
  expect(res.status).toBe(201);
  return { email, id: res.body.user.id as string, token: res.body.token as string, refresh: res.body.refreshToken };
}

const login = (email: string, password: string, clientIp = ip()) =>
  call("POST", "/v1/auth/login", { body: { email, password }, headers: { "CF-Connecting-IP": clientIp } });

const change = (token: string, body: WireJson, clientIp = ip()) =>
  call("POST", "/v1/auth/password", { token, body, headers: { "CF-Connecting-IP": clientIp } });

const refresh = (refreshToken: string) => call("POST", "/v1/auth/refresh", { body: { refreshToken } });

const changedNotices = async (email: string) =>
  (await emailsTo(email)).filter((e) => e.subject === "Your ridewire password was changed");

describe("password change", () => {
  it("ends every other session, keeps the caller's, and the new password is the one that works", async () => {
    const account = await register();
    const phone = await login(account.email, PASSWORD);
    const laptop = await login(account.email, PASSWORD);
    expect(phone.status).toBe(200);
    expect(laptop.status).toBe(200);

    const res = await change(account.token, { currentPassword: PASSWORD, newPassword: "a brand new secret" });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 2 });

    // The other sessions' refresh tokens are dead; the caller's goes on.
    expectError(await refresh(phone.body.refreshToken), 401, "unauthorized");
    expectError(await refresh(laptop.body.refreshToken), 401, "unauthorized");
    expect((await refresh(account.refresh)).status).toBe(200);
    // The other sessions' access tokens can no longer change the password again.
    expectError(
      await change(phone.body.token, { currentPassword: "a brand new secret", newPassword: "x".repeat(9) }),
      401,
      "unauthorized",
    );

    expectError(await login(account.email, PASSWORD), 401, "invalid_credentials");
    expect((await login(account.email, "a brand new secret")).status).toBe(200);
  });

  it("emails a security notice that cannot be muted, with the address the change came from", async () => {
    const account = await register("Quinn");
    const muted = await call("PATCH", "/v1/me/preferences", {
      token: account.token,
      body: { mutedChannels: ["email"] },
    });
    expect(muted.status).toBe(200);
    const res = await change(
      account.token,
      { currentPassword: PASSWORD, newPassword: "another secret!" },
      "203.0.113.9",
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 0 });
    await waitForEmails(account.email);
    const [notice, ...more] = await changedNotices(account.email);
    expect(more).toEqual([]);
    expect(notice!.text).toContain("Hi Quinn,");
    expect(notice!.text).toContain("was changed on");
    expect(notice!.text).toContain("from 203.0.113.9");
    expect(notice!.html).toContain("from 203.0.113.9");
    expect(notice!.text).not.toContain("another secret");
  });

  it("a wrong current password is refused with 403, changes nothing and ends no session", async () => {
    const account = await register();
    const other = await login(account.email, PASSWORD);
    const res = await change(account.token, { currentPassword: "not my password", newPassword: "attacker-chosen" });
    expectError(res, 403, "invalid_credentials");
    expect((await refresh(other.body.refreshToken)).status).toBe(200);
    expect((await login(account.email, PASSWORD)).status).toBe(200);
    expectError(await login(account.email, "attacker-chosen"), 401, "invalid_credentials");
    expect(await changedNotices(account.email)).toEqual([]);
  });

  it("wrong guesses count toward the login limits: a stolen token guesses no faster than a login", async () => {
    const account = await register();
    const clientIp = ip();
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++)
      expectError(
        await change(account.token, { currentPassword: `guess-${i}`, newPassword: "attacker-chosen" }, clientIp),
        403,
        "invalid_credentials",
      );
    // Locked now, even for the right password, on this route and on the login form alike.
    const locked = await change(account.token, { currentPassword: PASSWORD, newPassword: "attacker-chosen" }, clientIp);
    expectError(locked, 429, "rate_limited");
    expect(Number(locked.headers.get("Retry-After"))).toBeGreaterThan(0);
    expectError(await login(account.email, PASSWORD, clientIp), 429, "rate_limited");
    // The guesses changed nothing.
    expect((await login(account.email, PASSWORD)).status).toBe(200);
  });

  it("the new password follows the registration rules; no token, no change", async () => {
    const account = await register();
    for (const body of [
      {},
      { currentPassword: PASSWORD },
      { currentPassword: PASSWORD, newPassword: "short" },
      { currentPassword: PASSWORD, newPassword: "x".repeat(257) },
      { currentPassword: PASSWORD, newPassword: PASSWORD },
      { currentPassword: 1, newPassword: 2 },
    ])
      expectError(await change(account.token, body), 400, "invalid_request");
    const anonymous = await call("POST", "/v1/auth/password", {
      body: { currentPassword: PASSWORD, newPassword: "a brand new secret" },
    });
    expectError(anonymous, 401, "unauthorized");
    expect((await login(account.email, PASSWORD)).status).toBe(200);
  });

  it("an access token of a session that ended (logout) cannot change the password", async () => {
    const account = await register();
    const other = await login(account.email, PASSWORD);
    expect((await call("POST", "/v1/auth/logout", { token: account.token })).status).toBe(200);
    const res = await change(account.token, { currentPassword: PASSWORD, newPassword: "a brand new secret" });
    expectError(res, 401, "unauthorized");
    // The owner's other session lives on, with the old password.
    expect((await refresh(other.body.refreshToken)).status).toBe(200);
    expect((await login(account.email, PASSWORD)).status).toBe(200);
  });
});
